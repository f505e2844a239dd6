"""Optimal placement of workers into job openings.

Pure and leaf-level (see DESIGN.md): takes arrays and a typed :class:`PlacementProblem`, returns a
typed :class:`PlacementResult`. The core is an exact OR-Tools min-cost flow; side rules that break
the network structure (dorm beds, district targets, county fairness, co-villager groups) fall back
to a HiGHS MIP only when the flow optimum breaks them. Baselines (greedy, stable matching) and the
LP reference live alongside for comparison.
"""

from optimizer.baselines import blocking_pairs, greedy, lp_reference, stable_matching
from optimizer.check import check_feasible
from optimizer.errors import OptimizerError, ProblemError, SolverError
from optimizer.problem import PlacementProblem, SolveOptions
from optimizer.result import REASONS, PlacementResult, RelaxedTarget
from optimizer.solve import solve

__all__ = [
    "REASONS",
    "OptimizerError",
    "PlacementProblem",
    "PlacementResult",
    "ProblemError",
    "RelaxedTarget",
    "SolveOptions",
    "SolverError",
    "blocking_pairs",
    "check_feasible",
    "greedy",
    "lp_reference",
    "solve",
    "stable_matching",
]
