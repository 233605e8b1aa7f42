"""The `patchlint` command line: a click group whose commands live in patchlint/commands/.

Each command module exposes one click command named `command`; adding a command means
adding its module name to COMMAND_MODULES.
"""

from __future__ import annotations

import importlib

import click

from patchlint import __version__

COMMAND_MODULES = (
    "check",
    "scan",
    "simulate",
    "parse_stats",
    "report",
    "rules",
    "hook",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="patchlint")
def main() -> None:
    """Semantic checks for Linux kernel patches as they arrive on mailing lists."""


def _register() -> None:
    # A command module that fails to import ends the program with its error: a broken
    # command must never turn into a missing one.
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"patchlint.commands.{name}")
        main.add_command(module.command)
        for extra in getattr(module, "EXTRA_COMMANDS", ()):
            main.add_command(extra)


_register()
