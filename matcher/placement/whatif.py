"""What-if analysis: change openings or targets, re-solve on the same candidates, report the change.

A change is one short phrase (the ``--what-if`` option of ``laborbridge place``)::

    openings JOB_ID +50      add 50 openings to a job (-5 removes five, =0 closes it)
    relax target DISTRICT    drop a district's target (DISTRICT: code 120102 or name 河东区)
    target DISTRICT N        set a district's target to N

Retrieval and scores do not depend on openings or targets, so only the solver runs again; the
result is compared with the base run worker by worker. Nothing is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.errors import ConfigError
from matcher.geo import TIANJIN_DISTRICTS
from matcher.placement.pipeline import PlacementRun, build_problem
from matcher.placement.summary import edge_score_of
from matcher.scoring.factors import SCORE_DECIMALS

_DISTRICT_BY_NAME = {name: code for code, name in TIANJIN_DISTRICTS.items()}
_OPENINGS = re.compile(r"^openings\s+(\S+)\s+([+=-]?)(\d+)$")
_RELAX = re.compile(r"^relax\s+target\s+(\S+)$")
_TARGET = re.compile(r"^target\s+(\S+)\s+(\d+)$")


def district_code(text: str) -> str:
    """A Tianjin district's code from its code or Chinese name; :class:`ConfigError` otherwise."""
    text = text.strip()
    if text in TIANJIN_DISTRICTS:
        return text
    if text in _DISTRICT_BY_NAME:
        return _DISTRICT_BY_NAME[text]
    raise ConfigError(f"{text!r} is not a Tianjin district (a code 120101–120119 or a name such as 河东区)")


@dataclass(frozen=True)
class Change:
    """One parsed what-if change."""

    kind: str  # openings | relax_target | target
    key: str  # job id or district code
    op: str = "="  # + - = for openings
    value: int = 0
    text: str = ""


def parse_change(text: str) -> Change:
    """Parse one what-if phrase (see module doc); :class:`ConfigError` naming it when malformed."""
    t = " ".join(text.split())
    if m := _OPENINGS.match(t):
        return Change("openings", m.group(1), m.group(2) or "=", int(m.group(3)), text)
    if m := _RELAX.match(t):
        return Change("relax_target", district_code(m.group(1)), text=text)
    if m := _TARGET.match(t):
        return Change("target", district_code(m.group(1)), value=int(m.group(2)), text=text)
    raise ConfigError(
        f"cannot read what-if {text!r}: use 'openings JOB_ID +N' (or -N, =N), "
        "'relax target DISTRICT' or 'target DISTRICT N'"
    )


@dataclass
class WhatIfResult:
    """The change in placements and objective that a set of changes makes."""

    changes: list[str]
    objective_base: float
    objective_new: float
    placed_base: int
    placed_new: int
    status_new: str
    newly_placed: list[dict[str, Any]] = field(default_factory=list)
    newly_unplaced: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    relaxed: list[dict[str, Any]] = field(default_factory=list)
    base_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "base_run_id": self.base_run_id,
            "status": self.status_new,
            "objective": {
                "base": self.objective_base,
                "new": self.objective_new,
                "change": round(self.objective_new - self.objective_base, SCORE_DECIMALS),
            },
            "placed": {
                "base": self.placed_base,
                "new": self.placed_new,
                "change": self.placed_new - self.placed_base,
            },
            "newly_placed": self.newly_placed,
            "newly_unplaced": self.newly_unplaced,
            "moved": self.moved,
            "relaxed": self.relaxed,
        }


def what_if(run: PlacementRun, changes: list[Change]) -> WhatIfResult:
    """Re-solve ``run`` with ``changes`` applied; compare with ``run``'s own result."""
    from matcher.placement.decompose import solve_in_pieces
    from optimizer import REASONS

    ds, ctx = run.dataset, run.context
    openings = ctx.job_openings.copy()
    job_index = {j.job_id: i for i, j in enumerate(ds.jobs)}
    targets = dict(run.options.rules.district_targets)
    for c in changes:
        if c.kind == "openings":
            if c.key not in job_index:
                raise ConfigError(f"what-if {c.text!r}: no job {c.key!r} in the input")
            j = job_index[c.key]
            new = openings[j] + c.value if c.op == "+" else openings[j] - c.value if c.op == "-" else c.value
            openings[j] = max(0, int(new))
        elif c.kind == "relax_target":
            if c.key not in targets:
                raise ConfigError(f"what-if {c.text!r}: district {c.key} has no target in this run")
            del targets[c.key]
        else:
            targets[c.key] = c.value
    problem, options = build_problem(
        ds,
        ctx,
        run.edges,
        run.options,
        job_openings=openings,
        district_targets=targets,
        occupations=run.occupations,
    )
    new = solve_in_pieces(problem, options)  # the same pieces as the base run: no tie moves
    base_a, new_a = np.asarray(run.result.assignment), np.asarray(new.assignment)
    score = edge_score_of(run)
    out = WhatIfResult(
        changes=[c.text for c in changes],
        objective_base=round(float(run.result.objective), SCORE_DECIMALS),
        objective_new=round(float(new.objective), SCORE_DECIMALS),
        placed_base=int((base_a >= 0).sum()),
        placed_new=int((new_a >= 0).sum()),
        status_new=new.status,
        relaxed=[r.as_dict() for r in new.relaxed],
    )
    for w in np.flatnonzero(base_a != new_a):
        wid = ds.workers[w].worker_id
        a, b = int(base_a[w]), int(new_a[w])
        sa = score[(int(w), a)] if a >= 0 else None
        sb = score[(int(w), b)] if b >= 0 else None
        item = {
            "worker_id": wid,
            "job_base": ds.jobs[a].job_id if a >= 0 else None,
            "job_new": ds.jobs[b].job_id if b >= 0 else None,
            "score_base": sa,
            "score_new": sb,
        }
        if a < 0:
            out.newly_placed.append(item)
        elif b < 0:
            item["reason"] = REASONS[int(new.unplaced_reason[w])]
            out.newly_unplaced.append(item)
        else:
            out.moved.append(item)
    return out
