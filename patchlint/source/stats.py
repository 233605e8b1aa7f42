"""``parse-stats``: raw tree-sitter-c against the normalised front end, one run.

Timing covers what each side must do to get a tree: the raw side parses the
file bytes; the normalised side normalises, parses and repairs (its patterns are
compiled before the clock starts: this measures throughput, not start-up).  Counting
error nodes happens outside the timed region for both, so the ratio compares
like with like, and the two sides alternate file by file so a change in the
machine's load hits both alike.

A function "has errors" when any ERROR or MISSING node lies inside a
file-scope function definition (including definitions inside ``#if``
blocks).  A function the parse lost altogether is counted too: kernel style
puts a function body's ``{`` alone at column 0 right after the head's ``)``,
and every such brace outside all the definitions found is one misparsed
function.  Without that, a normaliser that made things worse could look
better, because lost functions would leave the denominator.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypedDict

import tree_sitter

from .language import parse_bytes
from .normalise import Dialect, Normalised, normalise_and_parse
from .parse import iter_top_level_functions

__all__ = [
    "ParseFigures",
    "SideFigures",
    "format_stats_text",
    "iter_c_files",
    "lost_functions",
    "parse_stats",
]

C_SUFFIXES = (".c", ".h")


class SideFigures(TypedDict):
    files: int
    bytes: int
    seconds: float
    mb_per_s: float
    files_with_errors_pct: float
    functions: int
    functions_lost: int
    functions_in_dead_arms: int
    functions_with_errors: int
    functions_with_errors_pct: float


class ParseFigures(TypedDict):
    raw: SideFigures
    normalized: SideFigures
    throughput_ratio: float


def iter_c_files(paths: Iterable[Path]) -> list[Path]:
    """The .c/.h files under ``paths`` (files are taken as given), sorted."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix in C_SUFFIXES and p.is_file())
        elif path.is_file():
            found.append(path)
    return sorted(set(found))


_BODY_AFTER_HEAD = re.compile(rb"\)[ \t]*\n\{\n")


def lost_functions(root: tree_sitter.Node, data: bytes) -> int:
    """Function bodies the parse lost: a ``{`` alone at column 0 right after a line
    ending in ``)`` (kernel style for a function head), outside every definition found."""
    spans = sorted((node.start_byte, node.end_byte) for node in iter_top_level_functions(root))
    starts = [start for start, _ in spans]
    count = 0
    for match in _BODY_AFTER_HEAD.finditer(data):
        brace = match.end() - 2
        index = bisect.bisect_right(starts, brace) - 1
        if index < 0 or spans[index][1] <= brace:
            count += 1
    return count


def dead_functions(root: tree_sitter.Node, normalised: Normalised) -> int:
    """Definitions of the raw parse in an arm no configuration compiles (the file decides
    the condition itself): the front end drops them on purpose."""
    dead = [c for c in normalised.constructs if c.kind == "dead_code"]
    if not dead:
        return 0
    return sum(
        any(c.start <= node.start_byte < c.end for c in dead)
        for node in iter_top_level_functions(root)
    )


class _Side:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.seconds = 0.0
        self.files_with_errors = 0
        self.functions = 0
        self.functions_with_errors = 0
        self.lost = 0
        self.dead = 0

    def count(self, tree: tree_sitter.Tree, data: bytes) -> None:
        root = tree.root_node
        self.files += 1
        self.bytes += len(data)
        self.files_with_errors += root.has_error
        for node in iter_top_level_functions(root):
            self.functions += 1
            self.functions_with_errors += node.has_error
        self.lost += lost_functions(root, data)

    def figures(self) -> SideFigures:
        seconds = max(self.seconds, 1e-9)
        bad = self.functions_with_errors + self.lost
        return {
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 4),
            "mb_per_s": round(self.bytes / seconds / 1e6, 3),
            "files_with_errors_pct": _pct(self.files_with_errors, self.files),
            "functions": self.functions,
            "functions_lost": self.lost,
            "functions_in_dead_arms": self.dead,
            "functions_with_errors": bad,
            "functions_with_errors_pct": _pct(bad, self.functions + self.lost),
        }


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


def parse_stats(paths: Sequence[Path], dialect: Dialect | None = None) -> ParseFigures:
    """Figures for raw and normalised parsing of every .c/.h file under ``paths``."""
    if dialect is None:
        dialect = Dialect.load()
    # Compile the normaliser's patterns before timing: throughput, not start-up.
    normalise_and_parse("static int f(void)\n{\n\treturn 0;\n}\n", dialect)
    raw, normalised = _Side(), _Side()
    for path in iter_c_files(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        text = data.decode("utf-8", errors="replace")
        data = text.encode("utf-8")

        started = time.perf_counter()
        raw_tree = parse_bytes(data)
        raw.seconds += time.perf_counter() - started

        started = time.perf_counter()
        norm = normalise_and_parse(text, dialect)
        normalised.seconds += time.perf_counter() - started

        raw.count(raw_tree, data)
        normalised.count(norm[1], norm[0].text.encode("utf-8"))
        normalised.dead += dead_functions(raw_tree.root_node, norm[0])
    raw_figures, norm_figures = raw.figures(), normalised.figures()
    raw_rate = raw_figures["mb_per_s"]
    ratio = round(norm_figures["mb_per_s"] / raw_rate, 3) if raw_rate else 0.0
    return {"raw": raw_figures, "normalized": norm_figures, "throughput_ratio": ratio}


_ROWS: tuple[tuple[str, Callable[[SideFigures], float], str], ...] = (
    ("files", lambda s: s["files"], "{:.0f}"),
    ("MB", lambda s: s["bytes"] / 1e6, "{:.2f}"),
    ("seconds", lambda s: s["seconds"], "{:.2f}"),
    ("MB/s", lambda s: s["mb_per_s"], "{:.2f}"),
    ("files with errors %", lambda s: s["files_with_errors_pct"], "{:.2f}"),
    ("function definitions", lambda s: s["functions"], "{:.0f}"),
    ("functions lost", lambda s: s["functions_lost"], "{:.0f}"),
    ("functions in dead arms", lambda s: s["functions_in_dead_arms"], "{:.0f}"),
    ("functions with errors %", lambda s: s["functions_with_errors_pct"], "{:.2f}"),
)


def format_stats_text(stats: ParseFigures) -> str:
    lines = [f"{'':26}{'raw':>12}{'normalised':>14}"]
    for label, value, fmt in _ROWS:
        raw, normalised = fmt.format(value(stats["raw"])), fmt.format(value(stats["normalized"]))
        lines.append(f"{label:26}{raw:>12}{normalised:>14}")
    lines.append(f"{'normalised/raw MB/s':26}{stats['throughput_ratio']:>26.2f}")
    return "\n".join(lines) + "\n"
