"""The checkpatch-compatible format: the shapes checkpatch.pl users and tools parse."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from report_sample import HEADERS, SEED_DIFF, build_result

from patchlint.report import RenderOptions, render
from patchlint.report.checkpatch import checkpatch_type, walk_diff

# What tools match: u-boot's patman, patchwork, b4 read these lines.
LEVEL_LINE = re.compile(r"^(?:\S+:\d+: )?(ERROR|WARNING|CHECK):(?:([A-Z_]+):)? (.*)$")
FILE_LINE = re.compile(r"^#(\d+): FILE: ([^:]*):(\d+):$")
TOTAL = re.compile(r"^total: (\d+) errors, (\d+) warnings, (\d+) checks, (\d+) lines checked$")


def test_type_names() -> None:
    assert checkpatch_type("thread-action-on-group") == "THREAD_ACTION_ON_GROUP"


def test_default_shape(tmp_path: Path) -> None:
    mail = tmp_path / "0001-thaw.patch"
    mail.write_text(HEADERS + SEED_DIFF.read_text(), encoding="utf-8")
    text = render(build_result(str(mail)), "checkpatch", RenderOptions())
    lines = text.splitlines()
    warning = lines.index("WARNING: __thaw_task(t) acts on one thread")
    match = FILE_LINE.match(lines[warning + 1])
    assert match, lines[warning + 1]
    number, path, line = int(match.group(1)), match.group(2), int(match.group(3))
    assert path == "kernel/freezer.c"
    # #N is the line of the input file, and the quoted line is that line of the patch.
    assert mail.read_text().splitlines()[number - 1] == "+\t\t__thaw_task(t);"
    assert lines[warning + 2] == "+\t\t__thaw_task(t);"
    assert line == next(
        d.new_line
        for d in walk_diff(SEED_DIFF.read_text())
        if d.kind == "+" and "__thaw_task(t)" in d.text
    )
    assert lines[warning + 3] == ""
    totals = [TOTAL.match(x) for x in lines if x.startswith("total:")]
    assert len(totals) == 1 and totals[0]
    assert totals[0].groups() == ("0", "1", "1", "69")
    assert lines[-1] == f"{mail} has style problems, please review."
    # Suppressed and resolved findings are not problems.
    assert "script" not in text and "TIF_MEMDIE" not in text
    for line_text in lines:
        if LEVEL_LINE.match(line_text):
            assert LEVEL_LINE.match(line_text).group(1) in ("WARNING", "CHECK")


def test_show_types_and_emacs() -> None:
    text = render(build_result(), "checkpatch", RenderOptions(show_types=True, emacs=True))
    first = text.splitlines()[0]
    assert re.match(r"^seed\.mbox:\d+: WARNING:THREAD_ACTION_ON_GROUP: __thaw_task", first)
    assert "CHECK:TRAILER_SENDER_MISMATCH: Acked-by" in text


def test_terse() -> None:
    lines = render(build_result(), "checkpatch", RenderOptions(terse=True)).splitlines()
    assert lines[0].startswith("kernel/freezer.c:")
    assert re.match(
        r"^kernel/freezer\.c:\d+: WARNING: __thaw_task\(t\) acts on one thread$", lines[0]
    )
    assert TOTAL.match(lines[-1])
    assert not any("#" in line[:2] or "style problems" in line for line in lines)


def test_clean_patch_sentence_and_quiet() -> None:
    result = build_result()
    result.patches[0].findings = [
        f for f in result.patches[0].findings if f.status == "resolved" or f.suppressed
    ]
    text = render(result, "checkpatch", RenderOptions())
    assert text.splitlines()[-1] == (
        "seed.mbox has no obvious style problems and is ready for submission."
    )
    assert TOTAL.match(text.splitlines()[0])
    # checkpatch -q prints nothing at all for a clean patch.
    assert render(result, "checkpatch", RenderOptions(quiet=True)) == ""


def test_severity_mapping_and_color() -> None:
    result = build_result()
    result.patches[0].findings[0].severity = "error"
    text = render(result, "checkpatch", RenderOptions())
    assert "ERROR: __thaw_task(t) acts on one thread" in text
    assert "total: 1 errors, 0 warnings, 1 checks" in text
    colored = render(result, "checkpatch", RenderOptions(color=True))
    assert "\033[31mERROR:" in colored


def test_several_patches_get_a_banner() -> None:
    result = build_result()
    second = build_result()
    second.patches[0].message.index = 5
    result.patches.append(second.patches[0])
    text = render(result, "checkpatch", RenderOptions())
    assert text.count("total: ") == 2
    assert '"[PATCH v9 1/2] mm/oom_kill: Thaw the entire OOM victim process"' in text


def test_lines_checked_matches_checkpatch_pl(kernel_tree: Path, tmp_path: Path) -> None:
    """The footer counts the lines checkpatch.pl itself counts for the seed patch."""
    # checkpatch.pl is the anchor of this format: perl is part of the set-up, not optional.
    assert shutil.which("perl") is not None, "perl is needed to run checkpatch.pl"
    mail = tmp_path / "seed.patch"
    mail.write_text(HEADERS + SEED_DIFF.read_text(), encoding="utf-8")
    run = subprocess.run(
        ["perl", str(kernel_tree / "scripts/checkpatch.pl"), "--no-tree", "--strict", str(mail)],
        capture_output=True,
        text=True,
    )
    theirs = next(line for line in run.stdout.splitlines() if line.startswith("total:"))
    result = build_result(str(mail))
    result.patches[0].findings = []
    ours = next(
        line
        for line in render(result, "checkpatch", RenderOptions()).splitlines()
        if line.startswith("total:")
    )
    assert TOTAL.match(theirs), theirs
    assert ours.split(", ")[-1] == theirs.split(", ")[-1]
