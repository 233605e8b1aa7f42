"""Differential execution of one function: both versions on the same inputs."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from patchlint.source import FunctionDef, SourceFile

from . import clock, smt
from .calls import Definition
from .compare import find_divergence
from .explore import Exploration, Explorer
from .inputs import Inputs
from .interpreter import run_path
from .model import Explored, FunctionVerdict, Witness
from .smt import ModelRef
from .symbols import HeaderSource, Symbols
from .trace import PathOutcome
from .witness import Namer, build_witness, first_difference


@dataclass(frozen=True)
class Bounds:
    """The limits of one function's comparison (documented in docs/behaviour.md)."""

    loop_bound: int = 8
    seconds: float = 2.0
    max_paths: int = 128
    solver_ms: int = 1000


@dataclass(frozen=True)
class Version:
    """One side of the comparison: the file, the function and what its calls may reach."""

    source: SourceFile
    function: FunctionDef
    headers: HeaderSource | None = None
    # Functions changed by the patch in other files, interpreted instead of uninterpreted.
    program: Callable[[Symbols], dict[str, Definition]] | None = None


def compare_versions(
    before: Version,
    after: Version,
    file: str,
    bounds: Bounds = Bounds(),
    old_name: str | None = None,
    renames: Mapping[str, str] | None = None,
) -> FunctionVerdict:
    """The verdict on ``after.function`` against ``before.function``; never raises on
    unsupported code (the verdict is then ``unknown`` with the construct named)."""
    start = clock.now()
    deadline = start + bounds.seconds
    name = after.function.name
    inputs = Inputs()
    try:
        explorations = [
            # Each version explores within its share, so a long old version leaves the
            # new one time, and both leave the search time to use the paths they found
            # (a divergence among them is a verdict even if exploration was cut short).
            _explore("before", before, inputs, bounds, start + 0.35 * bounds.seconds),
            _explore("after", after, inputs, bounds, start + 0.7 * bounds.seconds),
        ]
        before_run, after_run = explorations
        search = find_divergence(before_run, after_run, deadline, bounds.solver_ms, renames)
        # A divergence found within the budget is made into a replayed witness within a
        # quarter more of it (so a function takes at most 1.25 times its budget).
        grace = deadline + bounds.seconds / 4
        explored = Explored(
            paths=before_run.paths + after_run.paths,
            complete=before_run.complete and after_run.complete and not search.undecided,
            paths_before=before_run.paths,
            paths_after=after_run.paths,
            limits=tuple(dict.fromkeys([*before_run.limits, *after_run.limits])),
        )
        if search.divergence is not None:
            witness, model, constants = build_witness(
                search.divergence, inputs, grace, bounds.solver_ms
            )
            problem = _replay(before, after, inputs, model, witness, bounds, renames, grace)
            if problem is None and constants:
                # The difference needs values the tree does not give (a macro no header
                # defines, the size of an incomplete type): not a verdict, a guess.
                verdict = FunctionVerdict(
                    name,
                    file,
                    "unknown",
                    None,
                    explored,
                    "a difference was found but it depends on "
                    + ", ".join(sorted(set(constants))[:4])
                    + ", whose value is not known from the tree",
                )
            elif problem is None:
                verdict = _diverges(name, file, witness, explored, inputs)
            else:
                verdict = FunctionVerdict(
                    name, file, "unknown", None, explored, f"the witness did not replay: {problem}"
                )
        elif explored.complete and before_run.outcomes and after_run.outcomes:
            verdict = FunctionVerdict(
                name,
                file,
                "equivalent",
                None,
                explored,
                f"every path identical, loops unrolled up to {bounds.loop_bound} times",
            )
        else:
            verdict = FunctionVerdict(
                name,
                file,
                "unknown",
                None,
                explored,
                _unknown_reason(before_run, after_run, search.undecided),
            )
    except RecursionError:
        verdict = FunctionVerdict(
            name, file, "unknown", None, Explored(0, False), "nesting too deep to interpret"
        )
    except Exception as error:  # noqa: BLE001 - a verdict must never become a crash
        if os.environ.get("PATCHLINT_BEHAVIOUR_DEBUG"):
            raise
        verdict = FunctionVerdict(
            name,
            file,
            "unknown",
            None,
            Explored(0, False),
            f"internal error: {type(error).__name__}: {error}",
        )
    seconds = clock.now() - start
    return FunctionVerdict(
        verdict.function,
        verdict.file,
        verdict.verdict,
        verdict.witness,
        verdict.explored,
        verdict.reason,
        seconds,
        old_name,
        verdict.notes,
        after.function.start_line,
    )


def _explore(
    version: str,
    side: Version,
    inputs: Inputs,
    bounds: Bounds,
    deadline: float,
    pins: list[smt.BoolRef] | None = None,
) -> Exploration:
    symbols = Symbols(side.source, side.headers)
    program = side.program(symbols) if side.program is not None else {}
    exploration = Exploration(version)
    explorer = Explorer(exploration, deadline, bounds.max_paths, bounds.solver_ms, pins)

    def run(decider: Explorer) -> PathOutcome:
        return run_path(
            version,
            inputs,
            symbols,
            side.function,
            side.source,
            decider,
            bounds.loop_bound,
            program,
        )

    return explorer.explore(run)


def _replay(
    before: Version,
    after: Version,
    inputs: Inputs,
    model: ModelRef,
    witness: Witness,
    bounds: Bounds,
    renames: Mapping[str, str] | None,
    deadline: float,
) -> str | None:
    """Run both versions again with every input fixed to the witness's values and check
    that they do what the witness says; None when they do, else what went wrong."""
    pins = smt.model_pins(model)
    outcomes = []
    for version, side in (("before", before), ("after", after)):
        run = _explore(version, side, inputs, bounds, deadline, pins)
        matching = [o for o in run.outcomes if smt.model_bool(model, smt.conj(*o.constraints))]
        if not matching and run.budget_exhausted:
            return "the time budget ran out before the witness was replayed"
        if len(matching) != 1:
            return f"{len(matching)} paths of the {version} version match the witness inputs"
        outcomes.append(matching[0])
    namer = Namer(inputs)
    again, _ = first_difference(outcomes[0], outcomes[1], model, namer, renames or {})
    # Object names (obj1, obj2) are numbered by first mention, which may differ.
    if re.sub(r"obj\d+", "obj", again) != re.sub(r"obj\d+", "obj", witness.first_difference):
        return f"replayed difference {again!r} is not {witness.first_difference!r}"
    return None


def _diverges(
    name: str, file: str, witness: Witness, explored: Explored, inputs: Inputs
) -> FunctionVerdict:
    reason = witness.first_difference
    if witness.output_only:
        reason = f"log output only: {reason}"
    notes: tuple[str, ...] = ()
    if inputs.unresolved:
        notes = (
            "identifiers without a definition, modelled as unknown constants: "
            + ", ".join(sorted(inputs.unresolved)),
        )
    return FunctionVerdict(name, file, "diverges", witness, explored, reason, notes=notes)


def _unknown_reason(before: Exploration, after: Exploration, undecided: list[str]) -> str:
    unsupported = list(dict.fromkeys([*before.unsupported, *after.unsupported]))
    if unsupported:
        return "unsupported: " + "; ".join(unsupported[:3])
    if before.budget_exhausted or after.budget_exhausted:
        return "time budget exhausted before the exploration completed"
    limits = list(dict.fromkeys([*before.limits, *after.limits]))
    if limits:
        return "bounds reached: " + "; ".join(limits[:3])
    if undecided:
        return "solver could not decide: " + "; ".join(dict.fromkeys(undecided[:3]))
    return "no path could be explored"
