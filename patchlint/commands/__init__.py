"""One module per CLI command; see patchlint/cli.py."""
