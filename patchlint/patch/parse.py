"""Turn diff text into a :class:`Patch`.

The text is first split into per-file sections by a small scanner of our own:
it knows git's extended headers, consumes each hunk by the counts in its header
(so a removed line reading ``-- foo`` or a ``-- `` mail signature cannot be
mistaken for something else) and localises count mismatches to one file.  The
hunk bodies of every well-formed section are then parsed with ``unidiff``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from .model import FilePatch, Hunk, HunkLine, Patch, PatchError
from .names import DEV_NULL, header_name, split_git_header, strip_components, unquote

HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)\Z", re.DOTALL)
_INDEX = re.compile(r"index ([0-9a-fA-F]+)\.\.([0-9a-fA-F]+)(?: +([0-7]+))?\s*\Z")
_BINARY = re.compile(r"Binary files (.+) and (.+) differ\s*\Z")
_VERSION = re.compile(r"\d+(\.\d+)+")

# Extended header line prefix -> key under which its value is kept.
_EXTENDED = {
    "old mode ": "old_mode",
    "new mode ": "new_mode",
    "deleted file mode ": "deleted_mode",
    "new file mode ": "new_file_mode",
    "similarity index ": "similarity",
    "dissimilarity index ": "dissimilarity",
    "rename from ": "rename_from",
    "rename to ": "rename_to",
    "rename old ": "rename_from",
    "rename new ": "rename_to",
    "copy from ": "copy_from",
    "copy to ": "copy_to",
}


@dataclass
class _Section:
    start: int  # 0-based index of the first header line
    git: bool
    git_names: tuple[str, str] | None = None
    minus: str | None = None
    plus: str | None = None
    minus_raw: str = ""  # the whole ---/+++ field, timestamp included
    plus_raw: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    binary: bool = False
    hunks: list[tuple[int, int]] = field(default_factory=list)  # [header, end) indexes
    error: PatchError | None = None
    open: bool = True  # still accepting header lines or hunks

    def display_name(self) -> str | None:
        for raw in (self.plus, self.minus):
            if raw and raw != DEV_NULL:
                return strip_components(raw, raw, self.git)[0] or raw
        if self.git_names:
            return strip_components(*self.git_names, self.git)[1]
        return None


def _split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only: form feeds and other separators are part of C lines."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _body(raw: str) -> str:
    """A line without its terminator (``\\n`` or ``\\r\\n``)."""
    if raw.endswith("\n"):
        raw = raw[:-1]
    if raw.endswith("\r"):
        raw = raw[:-1]
    return raw


def _is_file_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _looks_like_body(raw: str) -> bool:
    return raw[:1] in (" ", "+", "-", "\\") or _body(raw) == ""


class _Scanner:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.sections: list[_Section] = []

    def run(self) -> list[_Section]:
        lines = self.lines
        sec: _Section | None = None
        i = 0
        while i < len(lines):
            raw = lines[i]
            body = _body(raw)
            if body.startswith("diff --git "):
                sec = self._new(i, git=True)
                sec.git_names = split_git_header(body[len("diff --git ") :])
                if sec.git_names is None:
                    sec.error = PatchError("cannot read file names of 'diff --git' line", i + 1)
                i += 1
                continue
            if _is_file_header(lines, i):
                if not (sec and sec.open and sec.git and not sec.hunks and sec.minus is None):
                    sec = self._new(i, git=False)
                sec.minus_raw, sec.plus_raw = body[4:], _body(lines[i + 1])[4:]
                sec.minus = header_name(sec.minus_raw)
                sec.plus = header_name(sec.plus_raw)
                i += 2
                continue
            if body.startswith("@@") and sec is not None and sec.open and sec.error is None:
                i = self._hunk(sec, i)
                continue
            if sec is not None and sec.open and not sec.hunks and self._extended(sec, body):
                i += 1
                continue
            binary = _BINARY.match(body)
            if binary and (sec is None or not sec.open or sec.hunks or not sec.git):
                sec = self._new(i, git=False)
                sec.minus, sec.plus = binary.group(1), binary.group(2)
                sec.binary = True
                sec.open = False
            elif sec is not None:
                # Anything else ends the current file: commit text between quilt
                # patches, a "-- " signature, base85 data of a binary patch.
                sec.open = False
            i += 1
        return self.sections

    def _new(self, i: int, git: bool) -> _Section:
        sec = _Section(start=i, git=git)
        self.sections.append(sec)
        return sec

    def _extended(self, sec: _Section, body: str) -> bool:
        """Record a git extended header line; False if ``body`` is not one."""
        if not sec.git or sec.minus is not None:
            return False
        for prefix, key in _EXTENDED.items():
            if body.startswith(prefix):
                sec.headers[key] = body[len(prefix) :]
                return True
        index = _INDEX.match(body)
        if index:
            sec.headers["old_blob"], sec.headers["new_blob"] = index.group(1), index.group(2)
            if index.group(3):
                sec.headers["index_mode"] = index.group(3)
            return True
        if body == "GIT binary patch" or _BINARY.match(body):
            sec.binary = True
            return True
        return False

    def _hunk(self, sec: _Section, i: int) -> int:
        """Consume the hunk whose header is at ``i``; return the index after it."""
        lines = self.lines
        header = _body(lines[i])
        match = HUNK_HEADER.match(header)
        if match is None:
            return self._fail(sec, i + 1, f"malformed hunk header {header!r}", i)
        old_need = int(match.group(2)) if match.group(2) is not None else 1
        new_need = int(match.group(4)) if match.group(4) is not None else 1
        j = i + 1
        while old_need > 0 or new_need > 0:
            problem = self._body_problem(j, old_need, new_need)
            if problem is not None:
                return self._count_error(sec, i, match, problem)
            kind = lines[j][0] if _body(lines[j]) else " "
            if kind in (" ", "-"):
                old_need -= 1
            if kind in (" ", "+"):
                new_need -= 1
            j += 1
        while j < len(lines) and lines[j].startswith("\\"):
            j += 1
        sec.hunks.append((i, j))
        if j < len(lines) and self._extra_body_line(j):
            return self._count_error(sec, i, match, "more lines than its header says")
        return j

    def _body_problem(self, j: int, old_need: int, new_need: int) -> str | None:
        lines = self.lines
        if j >= len(lines):
            return "ends at end of input"
        raw = lines[j]
        body = _body(raw)
        boundary = self._boundary(j)
        if boundary is not None:
            return boundary
        if raw[0] == "\\":
            return None
        kind = raw[0] if body else " "
        if kind not in (" ", "+", "-"):
            return f"has a line that is not part of a hunk: {body[:60]!r}"
        if kind in (" ", "-") and old_need == 0:
            return "has more old lines than its header says"
        if kind in (" ", "+") and new_need == 0:
            return "has more new lines than its header says"
        return None

    def _boundary(self, j: int) -> str | None:
        """Why line ``j`` cannot belong to a hunk body although it may look like one."""
        lines = self.lines
        body = _body(lines[j])
        if body == "-- " and (j + 1 == len(lines) or not _looks_like_body(lines[j + 1])):
            return "is cut short by a '-- ' signature"
        if body.startswith("diff --git ") or (
            _is_file_header(lines, j) and j + 2 < len(lines) and lines[j + 2].startswith("@@")
        ):
            return "runs into the next file header"
        return None

    def _extra_body_line(self, j: int) -> bool:
        raw = self.lines[j]
        body = _body(raw)
        if raw[:1] not in (" ", "+", "-") or body in ("-- ", "---", "--"):
            return False
        return not (_is_file_header(self.lines, j) or body.startswith("diff "))

    def _count_error(self, sec: _Section, i: int, match: re.Match[str], problem: str) -> int:
        """Report a hunk whose body does not match its header, with real counts."""
        old = new = 0
        j = i + 1
        while j < len(self.lines) and _looks_like_body(self.lines[j]):
            body = _body(self.lines[j])
            if self._boundary(j) is not None:
                break
            kind = self.lines[j][0] if body else " "
            old += kind in (" ", "-")
            new += kind in (" ", "+")
            j += 1
        want_old = match.group(2) if match.group(2) is not None else "1"
        want_new = match.group(4) if match.group(4) is not None else "1"
        message = (
            f"hunk {_body(self.lines[i]).split(' @@')[0]} @@ {problem}: header says "
            f"{want_old} old / {want_new} new lines, body has {old} old / {new} new"
        )
        return self._fail(sec, j, message, i)

    def _fail(self, sec: _Section, resume: int, message: str, at: int) -> int:
        if sec.error is None:
            sec.error = PatchError(message, at + 1, sec.display_name())
        sec.open = False
        return max(resume, at + 1)


def _hunks_with_unidiff(lines: list[str], sec: _Section) -> list[Hunk] | None:
    """Parse the section's hunks with unidiff; None when it rejects them."""
    feed = ["--- a/file\n", "+++ b/file\n"]
    origin: list[int] = [-1, -1]  # feed index -> index in ``lines``
    for start, end in sec.hunks:
        for k in range(start, end):
            raw = lines[k]
            text = _body(raw)
            # unidiff keeps a CR in the value; our model records it separately.
            feed.append(text + "\n" if raw[:1] != "\\" else raw.rstrip("\r\n") + "\n")
            origin.append(k)
    try:
        parsed = PatchSet(feed)
    except (UnidiffParseError, ValueError, IndexError):
        return None
    if len(parsed) != 1 or len(parsed[0]) != len(sec.hunks):
        return None
    hunks: list[Hunk] = []
    for uhunk, (start, _end) in zip(parsed[0], sec.hunks, strict=True):
        hunk = Hunk(
            old_start=uhunk.source_start,
            old_count=uhunk.source_length,
            new_start=uhunk.target_start,
            new_count=uhunk.target_length,
            section=_section_text(lines[start]),
            header_line=start + 1,
        )
        for uline in uhunk:
            if uline.line_type == "\\":
                if hunk.lines:
                    hunk.lines[-1].no_newline_at_end = True
                continue
            if uline.diff_line_no is None:  # unidiff numbers every line it parsed
                return None
            raw = lines[origin[uline.diff_line_no - 1]]
            hunk.lines.append(
                HunkLine(
                    kind=uline.line_type or " ",
                    text=uline.value[:-1] if uline.value.endswith("\n") else uline.value,
                    old_line=uline.source_line_no,
                    new_line=uline.target_line_no,
                    crlf=raw.endswith("\r\n"),
                )
            )
        hunks.append(hunk)
    return hunks


def _hunks_by_hand(lines: list[str], sec: _Section) -> list[Hunk]:
    """Fallback for bodies unidiff rejects; the scanner has already checked counts."""
    hunks: list[Hunk] = []
    for start, end in sec.hunks:
        match = HUNK_HEADER.match(_body(lines[start]))
        assert match is not None
        old_no, new_no = int(match.group(1)), int(match.group(3))
        hunk = Hunk(
            old_start=old_no,
            old_count=int(match.group(2)) if match.group(2) is not None else 1,
            new_start=new_no,
            new_count=int(match.group(4)) if match.group(4) is not None else 1,
            section=_section_text(lines[start]),
            header_line=start + 1,
        )
        for raw in lines[start + 1 : end]:
            if raw.startswith("\\"):
                if hunk.lines:
                    hunk.lines[-1].no_newline_at_end = True
                continue
            text = _body(raw)
            kind = raw[0] if text else " "
            hl = HunkLine(kind, text[1:], None, None, crlf=raw.endswith("\r\n"))
            if kind != "+":
                hl.old_line, old_no = old_no, old_no + 1
            if kind != "-":
                hl.new_line, new_no = new_no, new_no + 1
            hunk.lines.append(hl)
        hunks.append(hunk)
    return hunks


def _section_text(header_raw: str) -> str:
    match = HUNK_HEADER.match(_body(header_raw))
    return match.group(5).strip() if match else ""


def _epoch(header: str) -> bool:
    stamp = header.partition("\t")[2]
    return stamp.startswith(("1970-01-01", "1969-12-31", "Thu Jan  1 00:00:00 1970"))


def _blob(value: str | None) -> str | None:
    if not value or set(value) == {"0"}:
        return None
    return value.lower()


def _build(lines: list[str], sec: _Section) -> FilePatch | PatchError:
    h = sec.headers
    old: str | None
    new: str | None
    if sec.git and sec.git_names:
        old, new = strip_components(sec.git_names[0], sec.git_names[1], True)
    else:
        old = new = None
    if sec.minus is not None or sec.plus is not None:
        m_old, m_new = strip_components(sec.minus, sec.plus, sec.git)
        if sec.minus is not None:
            old = m_old
        if sec.plus is not None:
            new = m_new
    if "rename_from" in h or "copy_from" in h:
        old = unquote(h.get("rename_from", h.get("copy_from", "")))
    if "rename_to" in h or "copy_to" in h:
        new = unquote(h.get("rename_to", h.get("copy_to", "")))
    if "new_file_mode" in h:
        old = None
    if "deleted_mode" in h:
        new = None

    hunks = _hunks_with_unidiff(lines, sec) if sec.hunks else []
    if hunks is None:
        hunks = _hunks_by_hand(lines, sec)

    if not sec.git and hunks and old is not None:
        # GNU diff -N writes a real name and an epoch timestamp for a missing side;
        # without that timestamp an emptied file is just an empty file (as in patch).
        if _epoch(sec.minus_raw) and all(hk.old_start == 0 and hk.old_count == 0 for hk in hunks):
            old = None
        elif _epoch(sec.plus_raw) and all(hk.new_start == 0 and hk.new_count == 0 for hk in hunks):
            new = None
    if old is None and new is None:
        return PatchError("file header names no file", sec.start + 1, None)

    if sec.binary:
        status = "binary"
    elif old is None:
        status = "added"
    elif new is None:
        status = "deleted"
    elif "rename_from" in h or "rename_to" in h:
        status = "renamed"
    elif "copy_from" in h or "copy_to" in h:
        status = "copied"
    elif not hunks and ("old_mode" in h or "new_mode" in h):
        status = "mode"
    elif not hunks:
        return PatchError("file header without any change", sec.start + 1, new or old)
    else:
        status = "modified"

    similarity = h.get("similarity", "").rstrip("%")
    fp = FilePatch(
        old_path=old,
        new_path=new,
        status=status,
        old_blob=_blob(h.get("old_blob")),
        new_blob=_blob(h.get("new_blob")),
        old_mode=h.get("old_mode") or h.get("deleted_mode") or h.get("index_mode"),
        new_mode=h.get("new_mode") or h.get("new_file_mode") or h.get("index_mode"),
        similarity=int(similarity) if similarity.isdigit() else None,
        hunks=hunks,
        header_line=sec.start + 1,
    )
    for hunk in hunks:
        for line in hunk.lines:
            fp.added += line.kind == "+"
            fp.removed += line.kind == "-"
    return fp


def parse_patch(diff_text: str, origin: str = "") -> Patch:
    """Parse ``diff_text``; problems become :class:`PatchError` values, never exceptions."""
    patch = Patch(origin=origin)
    try:
        lines = _split_lines(diff_text)
        # A diff whose every line ends in CRLF went through a mail transport that
        # converted it; the CRs are not part of the files.
        ends_lf = sum(1 for raw in lines if raw.endswith("\n"))
        if ends_lf and ends_lf == sum(1 for raw in lines if raw.endswith("\r\n")):
            lines = [raw[:-2] + "\n" if raw.endswith("\r\n") else raw for raw in lines]
        sections = _Scanner(lines).run()
        for sec in sections:
            if sec.error is not None:
                patch.errors.append(sec.error)
                continue
            built = _build(lines, sec)
            if isinstance(built, PatchError):
                patch.errors.append(built)
            else:
                patch.files.append(built)
        if not sections and diff_text.strip():
            patch.errors.append(PatchError("no file changes found in the diff", None, None))
    except Exception as exc:  # noqa: BLE001 - errors are values at stage boundaries
        patch.errors.append(PatchError(f"internal error while parsing diff: {exc!r}"))
    return patch
