"""Cost of the task-scope inference and of the thread-group rules per patch.

    python3 bench/thread_group_inference.py TREE [--json OUT] [--scan]

Side by side in one run:
  (a) cold inference of the tree's task-state knowledge (empty cache folder), and the
      anchor: plain tree-sitter-c parsing of exactly the files the inference read;
  (b) warm load of the cached knowledge (the manifest re-hashed, as every run does);
  (c) the three thread-group rules on the seed patch's files, before and after, with
      the warm knowledge and a function index (what `patchlint check` pays per patch);
  (d) with --scan, the three rules over the whole tree (scan_tree) next to a plain
      `grep -rlw` of the same candidate tokens.
Everything written goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def timed(label: str, figures: dict[str, float], action):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    figures[f"{label}_wall_s"] = round(time.perf_counter() - wall, 3)
    figures[f"{label}_cpu_s"] = round(time.process_time() - cpu, 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scan", action="store_true")
    args = parser.parse_args()
    tree = args.tree.resolve()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["PATCHLINT_CACHE"] = cache
        from tree_sitter import Language, Parser
        from tree_sitter_c import language

        from patchlint.rules import AnalysisUnit, run_rules, select_rules
        from patchlint.rules.taskscope.cache import entry_path, load_or_infer
        from patchlint.source import FunctionIndex, parse_c

        knowledge, hit = timed("cold_inference", figures, lambda: load_or_infer(tree))
        assert not hit
        entry = entry_path(tree)
        manifest = json.loads(entry.read_text())["manifest"] if entry else {}
        figures["files_read"] = len(manifest)
        figures["cache_bytes"] = entry.stat().st_size if entry else 0
        parser_c = Parser(Language(language()))

        def parse_all() -> None:
            for path in manifest:
                parser_c.parse((tree / path).read_bytes())

        timed("anchor_raw_tree_sitter", figures, parse_all)
        figures["ratio_cold_vs_raw_parse"] = round(
            figures["cold_inference_cpu_s"] / max(figures["anchor_raw_tree_sitter_cpu_s"], 1e-9), 1
        )
        _knowledge, hit = timed("warm_load", figures, lambda: load_or_infer(tree))
        assert hit
        figures["thread_facts"] = len(knowledge.thread_facts)
        figures["predicates"] = len(knowledge.predicates)
        figures["actions"] = len(knowledge.actions)
        figures["summaries_kept"] = len(knowledge.summaries)

        index = FunctionIndex(tree)
        rules = select_rules(
            enabled=["thread-flag-as-group", "thread-action-on-group", "group-state-as-thread"]
        )
        files = {
            "kernel/freezer.c": {"freezing_slow_path"},
            "mm/oom_kill.c": {"mark_oom_victim"},
        }

        def per_patch() -> int:
            count = 0
            for path, functions in files.items():
                text = (tree / path).read_text()
                for image in (text, text):  # before and after
                    unit = AnalysisUnit(parse_c(image, path), path, functions, index)
                    count += len(run_rules(unit, rules))
            return count

        timed("per_patch_first", figures, per_patch)
        timed("per_patch_again", figures, per_patch)
        if args.scan:
            from patchlint.scan import candidate_tokens, scan_tree

            ids = [r.id for r in rules]
            result = timed("scan", figures, lambda: scan_tree(tree, rule_ids=ids))
            figures["scan_files"] = result.files_scanned
            figures["scan_findings"] = len(result.findings)
            tokens = sorted({t for v in candidate_tokens(ids, tree).values() for t in v or ()})
            grep = ["grep", "-rlw", "--include=*.c", "--include=*.h"]
            for token in tokens:
                grep += ["-e", token]
            timed(
                "anchor_grep",
                figures,
                lambda: subprocess.run(grep + ["."], cwd=tree, capture_output=True),
            )
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for key, value in figures.items():
        print(f"{key:32} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
