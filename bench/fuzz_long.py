"""Long fuzz run over every parser layer (the short one runs in tests/robustness).

Usage: python bench/fuzz_long.py [--minutes 30] [--layer NAME ...] [--engine hypothesis|atheris]

The layers and their properties are those of tests/robustness/layers.py: mbox
splitting, MIME decoding, subject/trailer parsing, unidiff input, the kernel
normaliser, parse_c, the CFG builder (plus the lock rules on top) and the simulator's
interpreter. The time is shared evenly between the layers that exist. The hypothesis
engine draws from the structured strategies; the atheris engine (pip install atheris)
mutates raw bytes with coverage feedback, one subprocess per layer. The summary lists
examples run per layer and every failure with a reproducer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.robustness.layers import LAYERS, Layer  # noqa: E402


@dataclass
class LayerReport:
    name: str
    examples: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    skipped: str | None = None


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def run_hypothesis(layer: Layer, seconds: float, max_failures: int) -> LayerReport:
    """Many short hypothesis runs with fresh seeds until the time is up.

    One @given run stops at its first failure (after shrinking it), so restarting with
    a new seed is what keeps a long run finding distinct bugs instead of one.
    """
    from hypothesis import HealthCheck, Phase, given, seed, settings

    report = LayerReport(layer.name)
    deadline = time.monotonic() + seconds
    seen: set[str] = set()
    round_number = 0
    while time.monotonic() < deadline and len(report.failures) < max_failures:
        round_number += 1
        counter = {"n": 0}
        body = _counted(layer, counter, deadline)
        test = seed(round_number)(
            settings(
                max_examples=500,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )(given(layer.strategy)(body))
        )
        try:
            test()
        except Exception as error:  # noqa: BLE001 - every failure is a finding to report
            for single in _flatten(error):
                key = f"{type(single).__name__}:{_origin(single)}"
                if key not in seen:
                    seen.add(key)
                    report.failures.append(
                        {
                            "error": f"{type(single).__name__}: {str(single)[:300]}",
                            "where": _origin(single),
                            "reproducer": _reproducer(single),
                        }
                    )
        report.examples += counter["n"]
    report.seconds = seconds
    return report


def _flatten(error: BaseException) -> list[BaseException]:
    """Hypothesis groups distinct failures of one run; report each on its own."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _flatten(sub)]
    return [error]


def _counted(layer: Layer, counter: dict[str, int], deadline: float) -> Any:
    def body(data: Any) -> None:
        if time.monotonic() >= deadline:
            return  # an exception here would be shrunk and reported as a flaky failure
        counter["n"] += 1
        layer.check(data)

    return body


def _origin(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/patchlint/" in f.filename]
    if not frames:
        return "-"
    last = frames[-1]
    return f"{Path(last.filename).relative_to(REPO)}:{last.lineno} ({last.name})"


def _reproducer(error: BaseException) -> str:
    # Hypothesis attaches the shrunk falsifying example as a note.
    for note in getattr(error, "__notes__", []):
        if note.startswith("Falsifying example"):
            return note[:4000]
    return "(no falsifying example recorded)"


ATHERIS_DRIVER = """
import sys, atheris
sys.path.insert(0, {repo!r})
with atheris.instrument_imports():
    import patchlint.mail, patchlint.patch, patchlint.source
    try:
        import patchlint.analysis.cfg, patchlint.simulate
    except ImportError:
        pass
from tests.robustness import layers
layer = {{l.name: l for l in layers.LAYERS}}[{name!r}]
raw = layer.name in ("mbox", "mime")

def one(data):
    layer.check(data if raw else data.decode("utf-8", "surrogateescape"))

atheris.Setup(sys.argv, one)
atheris.Fuzz()
"""


def run_atheris(layer: Layer, seconds: float, workdir: Path) -> LayerReport:
    report = LayerReport(layer.name)
    script = workdir / f"fuzz_{layer.name.replace('-', '_')}.py"
    script.write_text(ATHERIS_DRIVER.format(repo=str(REPO), name=layer.name))
    artifacts = workdir / layer.name
    artifacts.mkdir(exist_ok=True)
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            f"-max_total_time={int(seconds)}",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1",
            "-rss_limit_mb=2048",
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    for line in proc.stderr.splitlines():
        if line.startswith("stat::number_of_executed_units:"):
            report.examples = int(line.split(":")[-1])
    for crash in sorted(artifacts.iterdir()):
        tail = proc.stderr[-1500:]
        report.failures.append(
            {
                "error": crash.name,
                "where": tail,
                "reproducer": f"{crash} ({crash.stat().st_size} bytes)",
            }
        )
    report.seconds = seconds
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--layer", action="append", choices=[layer.name for layer in LAYERS])
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--max-failures", type=int, default=5, help="per layer")
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="atheris artifacts (default: a new temporary directory)",
    )
    args = parser.parse_args(argv)
    chosen = [layer for layer in LAYERS if not args.layer or layer.name in args.layer]
    present = [layer for layer in chosen if _exists(layer.module)]
    share = args.minutes * 60 / max(len(present), 1)
    reports: list[LayerReport] = []
    workdir = args.workdir
    if args.engine == "atheris":
        if not _exists("atheris"):
            parser.error("atheris is not installed (pip install atheris)")
        import tempfile

        workdir = workdir or Path(tempfile.mkdtemp(prefix="patchlint-fuzz-"))
    for layer in chosen:
        if layer not in present:
            reports.append(LayerReport(layer.name, skipped=f"{layer.module} does not exist"))
            continue
        print(f"fuzzing {layer.name} for {share:.0f}s ...", file=sys.stderr, flush=True)
        if args.engine == "atheris":
            assert workdir is not None
            reports.append(run_atheris(layer, share, workdir))
        else:
            reports.append(run_hypothesis(layer, share, args.max_failures))
    failed = sum(len(r.failures) for r in reports)
    print(
        f"fuzz_long: engine {args.engine}, {args.minutes:g} min, python {sys.version.split()[0]}"
        f", {os.cpu_count()} cpus"
    )
    for report in reports:
        status = report.skipped or f"{report.examples} examples, {len(report.failures)} failures"
        print(f"  {report.name:<17} {status}")
        for failure in report.failures:
            print(
                f"    {failure['error']}\n      at {failure['where']}\n"
                + "\n".join(f"      {line}" for line in failure["reproducer"].splitlines())
            )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in reports], indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
