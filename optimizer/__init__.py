"""Optimal placement of workers into job openings.

Pure and leaf-level (see DESIGN.md): takes arrays and a typed :class:`PlacementProblem`, returns a
typed :class:`PlacementResult`. The core is an exact OR-Tools min-cost flow
(:mod:`optimizer.network`, :mod:`optimizer.flow`) that also carries enterprise capacities and,
whenever the bed sets nest with the openings (the usual case), dorm beds. When the flow optimum
breaks a rule it cannot carry, :mod:`optimizer.incumbent` tries a Lagrangian flow (district
targets, county fairness; optimal when its certificate holds) and builds a repaired feasible
incumbent; then the staged HiGHS MIP of :mod:`optimizer.rules` runs in the time left (for groups
and crossing beds with integers only where they are needed), and the better of MIP and incumbent
is returned, never an empty assignment. Baselines (greedy, stable matching) and the LP
reference live alongside for comparison.
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
