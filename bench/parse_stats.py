"""Benchmark: raw tree-sitter-c against the normalised front end on kernel/ + mm/.

Usage: python bench/parse_stats.py [KERNEL_TREE] [--json]
The tree defaults to $PATCHLINT_KERNEL_TREE or linux-6.12 in patchlint's cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.cachedir import cache_dir  # noqa: E402
from patchlint.source.stats import format_stats_text, parse_stats  # noqa: E402


def main() -> int:
    default = os.environ.get("PATCHLINT_KERNEL_TREE") or str(cache_dir() / "linux-6.12")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tree", nargs="?", default=default)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tree = Path(args.tree)
    stats = parse_stats([tree / "kernel", tree / "mm"])
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_stats_text(stats), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
