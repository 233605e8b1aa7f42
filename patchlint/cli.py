"""The `patchlint` command line: a click group whose commands live in patchlint/commands/.

Each command module exposes one click command named `command` (and may list more in
EXTRA_COMMANDS); adding a command means adding its name and module to COMMANDS. A
command's module is imported only when that command runs or help lists it: b4 runs
`patchlint check` once per patch, and that process must not pay for the others.
"""

from __future__ import annotations

import importlib

import click

from patchlint import __version__

# command name -> (module under patchlint.commands, attribute), in help order
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("check", "command"),
    "scan": ("scan", "command"),
    "simulate": ("simulate", "command"),
    "parse-stats": ("parse_stats", "command"),
    "report": ("report", "command"),
    "rules": ("rules", "command"),
    "explain": ("rules", "explain_command"),
    "hook": ("hook", "command"),
    "server": ("server", "command"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        # A command module that fails to import ends the program with its error: a
        # broken command must never turn into a missing one.
        module = importlib.import_module(f"patchlint.commands.{where[0]}")
        command = getattr(module, where[1])
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="patchlint")
def main() -> None:
    """Semantic checks for Linux kernel patches as they arrive on mailing lists."""
