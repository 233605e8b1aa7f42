"""checkpatch.pl-shaped output, so tools that parse checkpatch (b4 prep --check, CI
scripts, editors) can run patchlint in its place.

    WARNING:TYPE: message            (":TYPE" with --show-types)
    #N: FILE: path:line:             (N: the line in the input file)
    +the line

    total: 0 errors, 1 warnings, 0 checks, 69 lines checked

    NAME has style problems, please review.

error/warning/info map to ERROR/WARNING/CHECK and TYPE is the rule id uppercased with
'-' turned into '_'. --terse prints one line per finding as `path:line: LEVEL: message`
where path:line is the place in the patched file (what checkpatch prints with --terse
--showfile, the form b4 configures), and implies --quiet as in checkpatch. --emacs
prefixes each report with `input:N: `. Resolved and suppressed findings are not
problems, so they are not printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.report.options import RenderOptions
from patchlint.result import CheckResult, PatchResult

LEVELS = {"error": "ERROR", "warning": "WARNING", "info": "CHECK"}
_COLORS = {"ERROR": "\033[31m", "WARNING": "\033[33m", "CHECK": "\033[32m"}
_BLUE = "\033[34m"
_RESET = "\033[0m"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class DiffLine:
    offset: int  # 0-based line of the diff text
    path: str  # file the line belongs to (post-image name)
    kind: str  # "+", "-", " ", "@" (hunk header), "f" (file header)
    old_line: int | None
    new_line: int | None
    text: str  # the raw line, with its prefix


def walk_diff(diff_text: str) -> Iterator[DiffLine]:
    """Every line of a unified diff with the file and pre/post line numbers it stands for."""
    path = ""
    old = new = 0
    old_left = new_left = 0
    for offset, raw in enumerate(diff_text.splitlines()):
        if old_left <= 0 and new_left <= 0:
            if raw.startswith("+++ "):
                name = raw[4:].split("\t", 1)[0].strip()
                if name != "/dev/null":
                    path = name[2:] if name.startswith("b/") else name
                yield DiffLine(offset, path, "f", None, None, raw)
                continue
            if raw.startswith("--- "):
                name = raw[4:].split("\t", 1)[0].strip()
                if name != "/dev/null":
                    # A deleted file is only named here; a later +++ line overrides.
                    path = name[2:] if name.startswith("a/") else name
                yield DiffLine(offset, path, "f", None, None, raw)
                continue
            match = _HUNK.match(raw)
            if match:
                old, new = int(match.group(1)), int(match.group(3))
                old_left = int(match.group(2) or 1)
                new_left = int(match.group(4) or 1)
                yield DiffLine(offset, path, "@", old, new, raw)
            continue
        prefix = raw[:1]
        if prefix == "+":
            yield DiffLine(offset, path, "+", None, new, raw)
            new += 1
            new_left -= 1
        elif prefix == "-":
            yield DiffLine(offset, path, "-", old, None, raw)
            old += 1
            old_left -= 1
        elif prefix in (" ", ""):
            yield DiffLine(offset, path, " ", old, new, raw)
            old += 1
            new += 1
            old_left -= 1
            new_left -= 1
        # "\ No newline at end of file" and anything else: not a position.


def checkpatch_type(rule: str) -> str:
    return rule.upper().replace("-", "_")


def reported(findings: list[Finding]) -> list[Finding]:
    """The findings checkpatch-style output treats as problems."""
    return [f for f in findings if not f.suppressed and f.status != "resolved"]


class _InputLines:
    """Finds where a message's diff starts in its input file, so `#N` is the input's line."""

    def __init__(self, messages: list[Message]) -> None:
        self._files: dict[str, list[str] | None] = {}
        self._starts: dict[str, list[int]] = {}
        for message in messages:
            self._starts.setdefault(message.source, []).append(message.line or 1)
        for starts in self._starts.values():
            starts.sort()

    def _lines(self, source: str) -> list[str] | None:
        if source not in self._files:
            path = Path(source)
            try:
                text = (
                    path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
                )
            except OSError:
                text = None
            self._files[source] = text.splitlines() if text is not None else None
        return self._files[source]

    def diff_start(self, message: Message) -> int:
        """1-based input line of the diff's first line; when the input cannot be re-read
        (stdin, an encoded body) the diff's own numbering is used instead."""
        diff = message.diff_text or ""
        first = diff.split("\n", 1)[0]
        lines = self._lines(message.source) if first else None
        if lines is None:
            return 1
        start = message.line or 1
        later = [line for line in self._starts.get(message.source, []) if line > start]
        end = min(later) - 1 if later else len(lines)
        for number in range(start, end + 1):
            if lines[number - 1] == first:
                return number
        return 1


def _position(finding: Finding, diff: list[DiffLine], post: str | None) -> tuple[int, str] | None:
    """(diff offset, lines to show) for a finding located in the post-image."""
    if not finding.file or not finding.line:
        return None
    in_file = [d for d in diff if d.path == finding.file]
    for entry in in_file:
        if entry.new_line == finding.line and entry.kind in "+ ":
            return entry.offset, entry.text
    if not in_file:
        return None
    # Outside the hunks (a caller, an unchanged loop): point at the file's header and
    # show the post-image line as context.
    text = ""
    if post is not None:
        post_lines = post.splitlines()
        if 0 < finding.line <= len(post_lines):
            text = " " + post_lines[finding.line - 1]
    return in_file[0].offset, text


def _level(finding: Finding, show_types: bool, color: bool) -> str:
    level = LEVELS.get(finding.severity, "CHECK")
    out = f"{_COLORS[level]}{level}:" if color else f"{level}:"
    if show_types:
        kind = checkpatch_type(finding.rule)
        out += f"{_BLUE}{kind}:" if color else f"{kind}:"
    if color:
        out += _RESET
    return out


def _name(patch: PatchResult, result: CheckResult) -> str:
    message = patch.message
    siblings = [p for p in result.patches if p.message.source == message.source]
    if message.source not in ("-", "<stdin>", "") and len(siblings) == 1:
        return message.source
    return f'"{message.subject}"'


def _lines_checked(diff: list[DiffLine]) -> int:
    return sum(1 for d in diff if d.kind in "+- ")


def _patch_report(
    patch: PatchResult, result: CheckResult, lines: _InputLines, opts: dict[str, bool]
) -> tuple[list[str], bool]:
    message = patch.message
    diff = list(walk_diff(message.diff_text or ""))
    start = lines.diff_start(message)
    terse, emacs = opts["terse"], opts["emacs"] or opts["terse"]
    findings = reported(patch.findings)
    out: list[str] = []
    counts = {"ERROR": 0, "WARNING": 0, "CHECK": 0}
    for finding in findings:
        counts[LEVELS.get(finding.severity, "CHECK")] += 1
        post = patch.images.get(finding.file or "", (None, None))[1]
        position = _position(finding, diff, post)
        number = start + position[0] if position else (message.line or 1)
        header = f"{_level(finding, opts['show_types'], opts['color'])} {finding.message}"
        if terse:
            where = (
                f"{finding.file}:{finding.line}"
                if finding.file and finding.line
                else f"{message.source}:{number}"
            )
            out.append(f"{where}: {header}")
            continue
        if emacs:
            header = f"{message.source}:{number}: {header}"
        out.append(header)
        if position is not None:
            out.append(f"#{number}: FILE: {finding.file}:{finding.line}:")
            if position[1]:
                out.append(position[1])
        out.append("")
    clean = not findings
    quiet = opts["quiet"] or terse
    # b4 counts any line it does not recognise, "total:" included, as a warning: with
    # -q or --no-summary there is no summary line at all (checkpatch prints it for a
    # patch with problems even with -q).
    if not (opts["quiet"] or opts["no_summary"]) and not (clean and quiet):
        if out and not terse:
            out.pop()  # checkpatch separates reports, not the report from the total
            out.append("")
        out.append(
            f"total: {counts['ERROR']} errors, {counts['WARNING']} warnings, "
            f"{counts['CHECK']} checks, {_lines_checked(diff)} lines checked"
        )
    if not quiet and not opts["no_summary"]:
        name = _name(patch, result)
        out.append("")
        out.append(
            f"{name} has no obvious style problems and is ready for submission."
            if clean
            else f"{name} has style problems, please review."
        )
    return out, clean


def render_checkpatch(result: CheckResult, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    quiet, color, terse = options.quiet, options.color, options.terse
    emacs, show_types = options.emacs, options.show_types
    no_summary, mailback = options.no_summary, options.mailback
    opts = {
        "no_summary": no_summary or mailback,
        "quiet": quiet,
        "color": color,
        "terse": terse,
        "emacs": emacs,
        "show_types": show_types,
    }
    lines = _InputLines(result.messages)
    blocks: list[str] = []
    several = len(result.patches) > 1 and not (quiet or terse)
    for patch in result.patches:
        out, _clean = _patch_report(patch, result, lines, opts)
        if several:
            name = _name(patch, result)
            out = ["-" * len(name), name, "-" * len(name), *out]
        if out:
            blocks.append("\n".join(out))
    series = reported(result.series_findings)
    if series:
        block = []
        for finding in series:
            header = f"{_level(finding, show_types, color)} {finding.message}"
            block.append(header if terse else header + "\n")
        blocks.append("\n".join(block).rstrip("\n"))
    separator = "\n" if (terse or quiet) else "\n\n"
    return separator.join(blocks) + ("\n" if blocks else "")
