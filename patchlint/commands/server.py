"""`patchlint server start|stop|status`: a resident patchlint for one-process-per-patch
callers (b4's per-patch check, git send-email's validate hook). See patchlint/server.py."""

from __future__ import annotations

import sys

import click


@click.group("server")
def command() -> None:
    """Keep patchlint loaded so that each `patchlint check` starts in milliseconds.

    While a server runs, `patchlint check` hands its work to it (same arguments,
    input, output and exit status). PATCHLINT_SERVER=auto starts one on first use,
    PATCHLINT_SERVER=off never uses one.
    """


@command.command("start")
@click.option(
    "--idle",
    type=float,
    default=30.0,
    show_default=True,
    help="Stop after this many minutes without a check.",
)
@click.option("--foreground", is_flag=True, help="Serve in this process (until idle or stop).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
def start_command(idle: float, foreground: bool, quiet: bool) -> None:
    """Start the server (nothing happens when one runs already)."""
    from patchlint.server import ServerError, server_files, start

    try:
        pid = start(idle * 60.0, foreground=foreground)
    except ServerError as error:
        click.echo(f"patchlint server: {error}", err=True)
        sys.exit(2)
    if not quiet:
        files = server_files()
        if pid is None:
            click.echo(f"patchlint server: already running on {files.socket}")
        elif not foreground:
            click.echo(f"patchlint server: started (pid {pid}) on {files.socket}")


@command.command("stop")
def stop_command() -> None:
    """Stop the server."""
    from patchlint.server import stop

    click.echo("patchlint server: stopped" if stop() else "patchlint server: not running")


@command.command("status")
def status_command() -> None:
    """Say whether a server runs; exit 1 when none does."""
    from patchlint.server import ping, server_files

    if ping():
        click.echo(f"patchlint server: running on {server_files().socket}")
    else:
        click.echo("patchlint server: not running")
        sys.exit(1)
