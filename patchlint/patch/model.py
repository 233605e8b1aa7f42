"""Data model of a parsed diff: files, hunks, lines and input errors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HunkLine:
    """One body line of a hunk.

    ``text`` has no line terminator.  ``crlf`` records that the diff carried a
    carriage return before the newline on this line (a CRLF file diffed as such),
    so appliers can reproduce the file's own line endings.
    """

    kind: str  # " " context, "+" added, "-" removed
    text: str
    old_line: int | None
    new_line: int | None
    no_newline_at_end: bool = False
    crlf: bool = False


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    lines: list[HunkLine] = field(default_factory=list)
    header_line: int = 0

    @property
    def old_lines(self) -> list[HunkLine]:
        """Context and removed lines: what the hunk expects to find."""
        return [line for line in self.lines if line.kind != "+"]

    @property
    def new_lines(self) -> list[HunkLine]:
        """Context and added lines: what the hunk leaves behind."""
        return [line for line in self.lines if line.kind != "-"]


@dataclass
class FilePatch:
    old_path: str | None
    new_path: str | None
    status: str  # modified|added|deleted|renamed|copied|mode|binary
    old_blob: str | None = None
    new_blob: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    hunks: list[Hunk] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    header_line: int = 0

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


@dataclass
class PatchError:
    message: str
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass
class Patch:
    files: list[FilePatch] = field(default_factory=list)
    errors: list[PatchError] = field(default_factory=list)
    origin: str = ""

    def file(self, path: str) -> FilePatch | None:
        for fp in self.files:
            if path in (fp.new_path, fp.old_path):
                return fp
        return None
