"""patchlint: semantic analysis of Linux kernel patches as they arrive on mailing lists."""

__version__ = "0.1.0"
