"""The progress reporter: total, percentage, rate and ETA on a terminal; silent elsewhere."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from patchlint.commands.progress import progress, progress_bar, wanted


def test_bar_shows_total_percentage_rate_and_eta() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    bar = progress_bar("patches", console)
    task = bar.add_task("checking", total=10)
    bar.start_task(task)
    bar.update(task, completed=2)
    time.sleep(0.05)
    bar.update(task, completed=4)
    with console.capture() as capture:
        console.print(bar.get_renderable())
    shown = capture.get()
    assert "checking" in shown
    assert "4/10" in shown
    assert "40%" in shown
    assert "patches/s" in shown and "- patches/s" not in shown
    assert "ETA" in shown and "-:--:--" not in shown


def test_reporter_updates_the_bar_it_shows() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=140, color_system=None)
    with progress("scanning", "files", console=console, show=True) as report:
        assert report is not None
        report(0, 8)
        report(8, 8)
    assert "scanning" in stream.getvalue()


def test_nothing_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not wanted()
    with progress("checking", "patches") as report:
        assert report is None


def test_nothing_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    monkeypatch.setenv("CI", "1")
    assert not wanted()
    monkeypatch.delenv("CI")
    assert wanted()
