"""Path exploration of one version: every feasible path, bounded.

Each path is one run from the start with a list of branch decisions (the
classic re-execution strategy: no interpreter state is copied).  At a branch the
path has not fixed yet, the solver says which sides are feasible under the path
condition; a feasible side not taken is queued as a new decision list.  Loops
past the unrolling bound, the path count and the time budget make the
exploration incomplete, which the verdict must then say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import clock, smt
from .declarations import Unsupported
from .machine import PathCut
from .smt import BoolRef, ModelRef, PathSolver
from .trace import PathOutcome

STEPS_PER_PATH = 200_000


class BudgetExceeded(Exception):  # noqa: N818
    pass


@dataclass
class Exploration:
    version: str
    outcomes: list[PathOutcome] = field(default_factory=list)
    complete: bool = True
    # Why the exploration is incomplete (bounds) and which constructs stopped paths.
    limits: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    budget_exhausted: bool = False

    @property
    def paths(self) -> int:
        return len(self.outcomes)

    def note_limit(self, why: str) -> None:
        self.complete = False
        if why not in self.limits:
            self.limits.append(why)


class Explorer:
    """Implements ``machine.Decider`` for the path being run."""

    def __init__(
        self,
        exploration: Exploration,
        deadline: float,
        max_paths: int,
        solver_ms: int,
        pins: list[BoolRef] | None = None,
    ) -> None:
        self.exploration = exploration
        self.deadline = deadline
        self.max_paths = max_paths
        self.solver = PathSolver(solver_ms)
        # A replay fixes every input to a witness's values: one path per version.
        self.solver.add(*(pins or []))
        self.pending: list[list[bool]] = [[]]
        self.prefix: list[bool] = []
        self.decisions: list[bool] = []
        self.constraints: list[BoolRef] = []
        self.steps = 0
        # A model of the path condition so far: a branch side it satisfies is feasible
        # without asking the solver (about half the queries of a path).
        self.model: ModelRef | None = None

    # -- Decider -----------------------------------------------------------------------
    def tick(self) -> None:
        self.steps += 1
        if self.steps & 0xFF == 0 and clock.now() > self.deadline:
            raise BudgetExceeded()
        if self.steps > STEPS_PER_PATH:
            raise PathCut(f"path longer than {STEPS_PER_PATH} steps")

    def assume(self, cond: BoolRef) -> None:
        cond = smt.simplify_bool(cond)
        if smt.is_true(cond):
            return
        self.constraints.append(cond)
        self.solver.add(cond)
        if self.model is not None and not smt.model_bool(self.model, cond):
            self.model = None

    def decide(self, cond: BoolRef, where: str) -> bool:
        if smt.is_true(cond):
            return True
        if smt.is_false(cond):
            return False
        position = len(self.decisions)
        if position < len(self.prefix):
            return self._take(cond, self.prefix[position])
        can_true = self._feasible(cond)
        can_false = self._feasible(smt.neg(cond))
        if can_true and can_false:
            self.pending.append([*self.decisions, False])
            return self._take(cond, True)
        if can_false:
            return self._take(cond, False)
        if can_true:
            return self._take(cond, True)
        raise PathCut("path condition became unsatisfiable")

    def decide_loop(self, cond: BoolRef, where: str, bound_reached: bool) -> bool:
        if not bound_reached:
            return self.decide(cond, where)
        position = len(self.decisions)
        if position < len(self.prefix):
            return self._take(cond, self.prefix[position])
        if self._feasible(cond):
            self.exploration.note_limit(f"{where} unrolled to the bound")
        if self._feasible(smt.neg(cond)):
            return self._take(cond, False)
        raise PathCut(f"{where} cannot exit within the unrolling bound")

    def _take(self, cond: BoolRef, direction: bool) -> bool:
        self.decisions.append(direction)
        self.assume(cond if direction else smt.neg(cond))
        return direction

    def _feasible(self, cond: BoolRef) -> bool:
        if clock.now() > self.deadline:
            raise BudgetExceeded()
        if self.model is not None and smt.model_bool(self.model, cond):
            return True
        self.solver.push()
        try:
            self.solver.add(cond)
            result = self.solver.check()
            if result == "sat":
                self.model = self.solver.model()
        finally:
            self.solver.pop()
        # Undecided (solver timeout): explore it; the final comparison re-checks.
        return result != "unsat"

    # -- driving -----------------------------------------------------------------------
    def explore(self, run: Callable[[Explorer], PathOutcome]) -> Exploration:
        exploration = self.exploration
        while self.pending:
            if len(exploration.outcomes) >= self.max_paths:
                exploration.note_limit(f"more than {self.max_paths} paths")
                break
            if clock.now() > self.deadline:
                exploration.budget_exhausted = True
                exploration.note_limit("time budget")
                break
            self.prefix = self.pending.pop()
            self.decisions = []
            self.constraints = []
            self.steps = 0
            self.model = None
            self.solver.push()
            try:
                outcome = run(self)
                outcome.constraints = list(self.constraints)
                exploration.outcomes.append(outcome)
            except Unsupported as error:
                exploration.complete = False
                if str(error) not in exploration.unsupported:
                    exploration.unsupported.append(str(error))
            except PathCut as cut:
                if str(cut) != "path condition became unsatisfiable":
                    exploration.note_limit(str(cut))
            except BudgetExceeded:
                exploration.budget_exhausted = True
                exploration.note_limit("time budget")
                self.solver.pop()
                break
            except RecursionError:
                exploration.complete = False
                exploration.unsupported.append("nesting too deep for the interpreter")
            self.solver.pop()
        return exploration
