"""The pair suite: before/after versions of one function with the expected verdict.

A pair is one C file under fixtures/behaviour/pairs/<suite>/ with a header

    // expect: equivalent | diverges
    // function: f
    // why: what the change does (free text)

and sections introduced by "// --- common", "// --- before" and "// --- after".
The common section (types, globals, helpers) is part of both versions.  Kernel
pairs add "// file: path/in/linux-6.12" and their before section is the real
6.12 function, verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "behaviour" / "pairs"
_SECTION = re.compile(r"^// --- (common|before|after)\s*$", re.M)
_HEADER = re.compile(r"^// (expect|function|why|file|unsupported):\s*(.*)$", re.M)


@dataclass(frozen=True)
class Pair:
    path: Path
    expect: str
    function: str
    why: str
    common: str
    before: str
    after: str
    tree_file: str | None

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"

    def version(self, which: str) -> str:
        body = self.before if which == "before" else self.after
        return f"{self.common}\n{body}"


def load_pair(path: Path) -> Pair:
    text = path.read_text(encoding="utf-8")
    headers = {key: value.strip() for key, value in _HEADER.findall(text.split("// ---", 1)[0])}
    sections: dict[str, str] = {"common": ""}
    matches = list(_SECTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group(1)] = text[match.end() : end]
    expect = headers.get("expect", "")
    if expect not in ("equivalent", "diverges"):
        raise ValueError(f"{path}: expect must be equivalent or diverges, not {expect!r}")
    return Pair(
        path=path,
        expect=expect,
        function=headers.get("function", "f"),
        why=headers.get("why", ""),
        common=sections.get("common", ""),
        before=sections["before"],
        after=sections["after"],
        tree_file=headers.get("file"),
    )


def load_suite(suite: str) -> list[Pair]:
    return [load_pair(path) for path in sorted((ROOT / suite).glob("*.c"))]
