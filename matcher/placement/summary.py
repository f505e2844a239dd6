"""What a placement run amounts to: the ``run.json`` summary and the figures it is made of.

Placements in a wished occupation against the most there could be, the unplaced workers' reasons (the
optimizer's merged with the run's own ``employed_kept`` and ``no_fitting_job``), the highest shadow
prices, the codes predicted for uncoded jobs and the versions of the packages that shape a result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.placement.guidance import pairings_after_year
from matcher.placement.options import HELD_BACK_REASONS, HELD_EMPLOYED
from matcher.placement.pipeline import PlacementRun
from matcher.scoring.factors import SCORE_DECIMALS
from matcher.scoring.occupations import in_wished as in_wished_occupation
from matcher.scoring.occupations import wish_probability
from matcher.versions import package_versions


def run_summary(run: PlacementRun) -> dict[str, Any]:
    """The ``run.json`` content."""
    r = run.result
    return {
        "status": r.status,
        "objective": round(float(r.objective), SCORE_DECIMALS),
        "bound": round(float(r.bound), SCORE_DECIMALS),
        "gap": float(r.gap),
        "n_workers": run.context.n_workers,
        "n_jobs": run.context.n_jobs,
        "n_openings": int(run.context.job_openings.sum()),
        "n_placed": run.n_placed,
        "unplaced_reasons": unplaced_reason_counts(run),
        "unplaced_rules": unplaced_rule_counts(run),
        "pairings_after_year": pairings_after_year(run),
        "n_candidates": len(run.edges),
        "n_rejected_rows": len(run.dataset.rejected),
        "k": (run.engine or {}).get("k", run.options.k),
        "year": run.options.year,
        "mode": run.options.mode,
        "rules": run.options.params()["rules"],
        "include_employed": run.options.include_employed,
        "min_fit": run.options.min_fit,
        "scoring": run.effective_scoring.model_dump(),
        "rule_status": dict(r.rules),
        "relaxed": [_named(x.as_dict(), run.context.location_codes) for x in r.relaxed],
        "model": run.model_id,
        "occupation_table": run.occupation_table,
        "jobs_code_predicted": int(run.job_code_predicted.sum()) if run.job_code_predicted is not None else 0,
        "wishes": wish_fulfilment(run),
        "solver": r.solver,
        "certificate": run.certificate.to_dict() if run.certificate is not None else None,
        "engine": run.engine or {"engine": "local"},
        "seconds": run.seconds,
        "input_sha256": run.dataset.input_sha256,
        "versions": package_versions(),
        "shadow_prices": top_shadow_prices(run),
    }


def predicted_job_codes(run: PlacementRun) -> dict[str, list[Any]]:
    """job id → [code, confidence] for every job whose code the run predicted from its title."""
    from matcher.scoring.skillgap import code_text

    if run.occupations is None or run.job_code_predicted is None:
        return {}
    beliefs = run.occupations.jobs
    return {
        run.dataset.jobs[j].job_id: [
            code_text(int(beliefs.codes[j, 0, 0])),
            round(float(beliefs.probs[j, 0, 0]), 4),
        ]
        for j in np.flatnonzero(run.job_code_predicted & (beliefs.codes[:, 0, 0] >= 0)).tolist()
    }


def wish_fulfilment(run: PlacementRun) -> dict[str, Any]:
    """Placements in a wished occupation against the most there could be (computed once per run).

    A placement is in a wished occupation when the job's code (given, or predicted from its title)
    is the most likely code of one of the worker's wishes. The most possible is the maximum number of
    workers that could each be given an opening of one of their wished codes in a place they accept,
    over every job (not only the candidates): a max flow from classes of alike workers (wished codes,
    accepted places) to the openings per (code, place). Age and gender limits are not applied, so it
    is a ceiling. Employed workers the run keeps in place are left out.

    ``expected_in_wished`` is what the placement objective weighs instead of the count: the sum over
    placements of the probability that the job is of a wished occupation, from both sides' code
    beliefs (:func:`~matcher.scoring.occupations.wish_probability`); the run's objective is its
    scores plus ``wish_bonus`` times these probabilities (each rounded to ``SCORE_DECIMALS``).
    """
    if run.wishes is not None:
        return run.wishes
    from optimizer.maxflow import transport_max_flow

    ctx, codes = run.context, run.worker_codes
    assignment = np.asarray(run.result.assignment)
    if codes is None or ctx.n_workers == 0:
        run.wishes = {
            "placed_in_wished": 0,
            "most_possible": 0,
            "share_of_possible": None,
            "expected_in_wished": 0.0,
        }
        return run.wishes
    placed = np.flatnonzero(assignment >= 0)
    in_wished = int(in_wished_occupation(codes, ctx.job_code, placed, assignment[placed]).sum())
    expected = 0.0
    if run.occupations is not None:
        expected = float(wish_probability(run.occupations, placed, assignment[placed]).sum())
    eligible = (codes >= 0).any(axis=1)
    if run.held_back is not None:
        eligible &= run.held_back != HELD_EMPLOYED
    n_loc = max(len(ctx.location_codes), 1)
    # Openings per (code, place): the capacity side.
    coded = ctx.job_code >= 0
    groups, group_of = np.unique(ctx.job_code[coded] * n_loc + ctx.job_location[coded], return_inverse=True)
    capacity = np.bincount(group_of, weights=ctx.job_openings[coded], minlength=groups.size).astype(np.int64)
    # Classes of workers alike in wished codes and accepted places: the supply side.
    rows = np.flatnonzero(eligible)
    signature = np.concatenate([codes[rows], ctx.worker_allowed[rows].astype(np.int64)], axis=1)
    classes, supply = np.unique(signature, axis=0, return_counts=True)
    links_from, links_to = [], []
    for c, sig in enumerate(classes):
        places = np.flatnonzero(sig[codes.shape[1] :])
        keys = (sig[: codes.shape[1]][sig[: codes.shape[1]] >= 0][:, None] * n_loc + places[None, :]).ravel()
        at = np.searchsorted(groups, keys)
        to = np.unique(at[(at < groups.size) & (groups[np.minimum(at, groups.size - 1)] == keys)])
        links_from.append(np.full(to.size, c))
        links_to.append(to)
    possible = transport_max_flow(
        supply,
        capacity,
        np.concatenate(links_from) if links_from else np.zeros(0, np.int64),
        np.concatenate(links_to) if links_to else np.zeros(0, np.int64),
    )
    run.wishes = {
        "placed_in_wished": in_wished,
        "most_possible": possible,
        "share_of_possible": round(in_wished / possible, 4) if possible else None,
        "expected_in_wished": round(expected, 4),
    }
    return run.wishes


def unplaced_reason_names(run: PlacementRun) -> list[str]:
    """Each worker's reason name (``placed`` when placed): the optimizer's, unless the run held the
    worker back before solving (``employed_kept``, ``no_fitting_job``)."""
    from optimizer import REASONS

    names = [REASONS[int(c)] for c in run.result.unplaced_reason]
    if run.held_back is not None:
        unplaced = np.asarray(run.result.assignment) < 0
        for w in np.flatnonzero((run.held_back > 0) & unplaced):
            names[w] = HELD_BACK_REASONS[int(run.held_back[w])]
    return names


def unplaced_reason_counts(run: PlacementRun) -> dict[str, int]:
    """Unplaced workers per reason, every reason listed (``run.json``'s ``unplaced_reasons``)."""
    from optimizer import REASONS

    counts = dict.fromkeys([*(r for r in REASONS.values() if r != "placed"), *HELD_BACK_REASONS.values()], 0)
    for name in unplaced_reason_names(run):
        if name != "placed":
            counts[name] += 1
    return counts


def unplaced_rule_counts(run: PlacementRun) -> dict[str, int]:
    """Unplaced workers per rule that held them back (:mod:`matcher.placement.guidance`)."""
    from matcher.placement.guidance import unplaced_guidance

    counts: dict[str, int] = {}
    for g in unplaced_guidance(run).values():
        if g.rule:
            counts[g.rule] = counts.get(g.rule, 0) + 1
    return dict(sorted(counts.items()))


def top_shadow_prices(run: PlacementRun, n: int = 20) -> list[dict[str, Any]]:
    """Where one more opening helps most: the ``n`` jobs with the highest shadow price (empty when
    prices were not computed)."""
    prices = getattr(run.result, "job_shadow_price", None)
    if not run.options.shadow_prices or prices is None or len(prices) == 0:
        return []
    prices = np.asarray(prices, dtype=np.float64)
    order = [int(j) for j in np.argsort(-np.nan_to_num(prices, nan=-np.inf), kind="stable")[:n]]
    return [
        {"job_id": run.dataset.jobs[j].job_id, "price": round(float(prices[j]), SCORE_DECIMALS)}
        for j in order
        if np.isfinite(prices[j]) and prices[j] > 0
    ]


def _named(relaxed: dict[str, Any], codes: list[str]) -> dict[str, Any]:
    """A relaxed target with the solver's district or county index replaced by its code."""
    import re

    def code(m: re.Match[str]) -> str:
        i = int(m.group(2))
        return f"{m.group(1)}{codes[i] if 0 <= i < len(codes) else i}"

    out = dict(relaxed)
    for key in ("constraint", "binding"):
        if isinstance(out.get(key), str):
            out[key] = re.sub(r"(district_target\[|district |county_share\[|county )(\d+)", code, out[key])
    return out


def edge_score_of(run: PlacementRun) -> dict[tuple[int, int], float]:
    """(worker index, job index) → score of every candidate edge."""
    e = run.edges
    return {(int(w), int(j)): float(s) for w, j, s in zip(e.worker, e.job, e.score, strict=True)}
