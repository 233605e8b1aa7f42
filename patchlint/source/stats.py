"""``parse-stats``: raw tree-sitter-c against the normalised front end, one run.

Timing covers what each side must do to get a tree: the raw side parses the
file bytes; the normalised side normalises and parses.  Counting error nodes
happens outside the timed region for both, so the ratio compares like with
like.  A function "has errors" when any ERROR or MISSING node lies inside a
file-scope function definition (including definitions inside ``#if`` blocks).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .language import parse_bytes
from .normalise import Dialect, normalise_and_parse
from .parse import iter_top_level_functions

C_SUFFIXES = (".c", ".h")


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


class _Side:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.seconds = 0.0
        self.files_with_errors = 0
        self.functions = 0
        self.functions_with_errors = 0

    def count(self, tree: Any) -> None:
        root = tree.root_node
        self.files += 1
        self.files_with_errors += bool(root.has_error)
        for node in iter_top_level_functions(root):
            self.functions += 1
            self.functions_with_errors += bool(node.has_error)

    def as_dict(self) -> dict[str, Any]:
        seconds = max(self.seconds, 1e-9)
        return {
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 4),
            "mb_per_s": round(self.bytes / seconds / 1e6, 3),
            "files_with_errors_pct": _pct(self.files_with_errors, self.files),
            "functions": self.functions,
            "functions_with_errors_pct": _pct(self.functions_with_errors, self.functions),
        }


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


def parse_stats(paths: Sequence[Path], dialect: Dialect | None = None) -> dict[str, Any]:
    """Figures for raw and normalised parsing of every .c/.h file under ``paths``."""
    if dialect is None:
        dialect = Dialect.load()
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
        norm_tree = normalise_and_parse(text, dialect)[1]
        normalised.seconds += time.perf_counter() - started

        raw.bytes += len(data)
        normalised.bytes += len(data)
        raw.count(raw_tree)
        normalised.count(norm_tree)
    result: dict[str, Any] = {"raw": raw.as_dict(), "normalized": normalised.as_dict()}
    raw_rate = result["raw"]["mb_per_s"]
    result["throughput_ratio"] = (
        round(result["normalized"]["mb_per_s"] / raw_rate, 3) if raw_rate else 0.0
    )
    return result


def format_stats_text(stats: dict[str, Any]) -> str:
    rows = [
        ("files", "files", "{:d}"),
        ("MB", "bytes", "{:.2f}"),
        ("seconds", "seconds", "{:.2f}"),
        ("MB/s", "mb_per_s", "{:.2f}"),
        ("files with errors %", "files_with_errors_pct", "{:.2f}"),
        ("function definitions", "functions", "{:d}"),
        ("functions with errors %", "functions_with_errors_pct", "{:.2f}"),
    ]
    lines = [f"{'':26}{'raw':>12}{'normalised':>14}"]
    for label, key, fmt in rows:
        values = []
        for side in ("raw", "normalized"):
            value = stats[side][key]
            if key == "bytes":
                value = value / 1e6
            values.append(fmt.format(value))
        lines.append(f"{label:26}{values[0]:>12}{values[1]:>14}")
    if "throughput_ratio" in stats:
        lines.append(f"{'normalised/raw MB/s':26}{stats['throughput_ratio']:>26.2f}")
    return "\n".join(lines) + "\n"
