"""The one progress reporter of the commands (rich): total, percentage, rate and ETA.

Shown on stderr only when it is a terminal and not in CI; elsewhere (pipes, b4, git
hooks, CI logs) the commands print nothing but their output, and rich is not even
imported. The bar is cleared when the run ends, so only the results stay on screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

# Called with (units done, units in total).
Report = Callable[[int, int], None]


def wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress_bar(unit: str, console: Console | None = None) -> Progress:
    """A rich Progress: label, bar, done/total, percentage, rate and ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Units per second ("12.3 patches/s") once there is a rate to show."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = "-" if speed is None else f"{speed:.1f}"
            return Text(f"{shown} {unit}/s", style="progress.data.speed")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )


@contextmanager
def progress(
    label: str, unit: str, console: Console | None = None, show: bool | None = None
) -> Iterator[Report | None]:
    """``with progress("checking", "patches") as report:`` gives a callable for
    ``report(done, total)``, or None when nothing is to be shown."""
    if not (show if show is not None else wanted()):
        yield None
        return
    bar = progress_bar(unit, console)
    task = bar.add_task(label, total=None)

    def report(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total or None)

    with bar:
        yield report
