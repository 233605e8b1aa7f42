"""The executable ends without tearing its heap down (patchlint.launch
``exit_without_teardown``) and still exits as Python would: the same status, every
line written, exit handlers run."""

from __future__ import annotations

import os
import subprocess
import sys

EXIT = "import atexit, sys; from patchlint.launch import exit_without_teardown; "


def test_status_output_and_exit_handlers_are_kept() -> None:
    code = EXIT + "atexit.register(print, 'handler ran'); print('report', end=' '); "
    result = subprocess.run(
        [sys.executable, "-c", code + "exit_without_teardown(3)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert result.stdout == "report handler ran\n"


def test_the_command_line_exits_with_the_commands_status() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "patchlint", "explain", "no-such-rule"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATCHLINT_SERVER": "off"},
    )
    assert result.returncode != 0 and "no-such-rule" in result.stderr
