"""What a placement run stores: :func:`build_record` turns a :class:`~matcher.placement.pipeline.PlacementRun`
into a :class:`RunRecord`.

The record holds the run's parameters, input hash, model and package versions, the solver's answer,
every assignment with its score, factor contributions and explanation sentences (zh/en), and every
unplaced worker with its reason (the optimizer's, or the run's own) and a skill-gap hint.
:mod:`matcher.store.runs_repo` writes it in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.placement.guidance import unplaced_guidance
from matcher.placement.pipeline import PlacementRun
from matcher.placement.summary import predicted_job_codes, run_summary, unplaced_reason_names
from matcher.scoring.explain import explain, factor_medians
from matcher.scoring.factors import FACTORS, SCORE_DECIMALS
from matcher.scoring.features import worker_skill_text
from matcher.versions import package_versions

REASON_ZH = {
    "no_candidate": "无符合地点、年龄或性别要求的岗位",
    "outscored": "合适岗位已由匹配度更高的人员占满",
    "blocked_by_rule": "受规则限制（宿舍床位、区目标、公平比例或同行组）",
    "zero_score": "可选岗位匹配度为零",
    "employed_kept": "已就业，保持稳定就业，未调整",
    "no_fitting_job": "无达到最低匹配度的岗位",
}
"""Unplaced reasons (:data:`optimizer.REASONS`, and the run's own: ``employed_kept``,
``no_fitting_job``) in Chinese, for exports."""


HINT_TOP = 3


@dataclass
class RunRecord:
    """Everything recorded about one run (see module doc)."""

    run_id: str
    created_at: dt.datetime
    kind: str
    base_run_id: str | None
    params: dict[str, Any]
    summary: dict[str, Any]
    assignments: list[dict[str, Any]]
    unplaced: list[dict[str, Any]]
    assignment_sha256: str

    def header(self) -> dict[str, Any]:
        """The ``placement_runs`` row."""
        s = self.summary
        return {
            "run_id": self.run_id,
            "created_at": self.created_at,
            "kind": self.kind,
            "base_run_id": self.base_run_id,
            "params": self.params,
            "input_sha256": s["input_sha256"],
            "model": s["model"],
            "versions": s["versions"],
            "status": s["status"],
            "solver": s["solver"],
            "objective": s["objective"],
            "bound": s["bound"],
            "gap": s["gap"],
            "n_workers": s["n_workers"],
            "n_jobs": s["n_jobs"],
            "n_openings": s["n_openings"],
            "n_placed": s["n_placed"],
            "n_candidates": s["n_candidates"],
            "assignment_sha256": self.assignment_sha256,
            "summary": s,
        }


def new_run_id(now: dt.datetime) -> str:
    """A sortable, unique id: UTC time and 6 random hex digits, e.g. ``20260502T174455-3fa2c1``."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def assignment_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the (worker_id, job_id) pairs in worker order: equal digests, equal assignments."""
    h = hashlib.sha256()
    for w, j in sorted(pairs):
        h.update(f"{w}\t{j}\n".encode())
    return h.hexdigest()


def build_record(
    run: PlacementRun,
    *,
    kind: str = "plan",
    base_run_id: str | None = None,
    hints: bool = True,
    source: str | None = None,
) -> RunRecord:
    """The record of ``run`` (explanations for every assignment, hints for every unplaced worker).

    ``source`` (the data folder or store URL the input came from) is kept in the summary so
    exports can find the records again.
    """
    ds, ctx, edges, res = run.dataset, run.context, run.edges, run.result
    now = dt.datetime.now(dt.UTC)
    weights = run.effective_scoring.weights.vector()
    sel = np.flatnonzero(np.asarray(res.edge_selected))
    medians = factor_medians(edges.worker, edges.factors.values, ctx.n_workers)
    assignments: list[dict[str, Any]] = []
    for e in sel:
        w, j = int(edges.worker[e]), int(edges.job[e])
        worker, job = ds.workers[w], ds.jobs[j]
        row = edges.factors.values[e].astype(np.float64)
        values = {f: float(v) for f, v in zip(FACTORS, row, strict=True)}
        contributions = {
            f: round(float(v), SCORE_DECIMALS) for f, v in zip(FACTORS, row * weights, strict=True)
        }
        location = ds.job_location(job)
        zh, en = explain(
            worker,
            job,
            ds.enterprise_by_id[job.enterprise_id],
            values,
            contributions,
            location_code=location,
            occupation_name=run.occupation_names.get(int(ctx.job_code[j]), ""),
            median=dict(zip(FACTORS, medians[w].tolist(), strict=True)),
        )
        assignments.append(
            {
                "worker_id": worker.worker_id,
                "job_id": job.job_id,
                "enterprise_id": job.enterprise_id,
                "home_county_code": worker.home_county_code,
                "location_code": location,
                "score": float(edges.score[e]),
                "factors": contributions,
                "explanation_zh": zh,
                "explanation_en": en,
            }
        )
    assignments.sort(key=lambda a: a["worker_id"])
    hint_of = skill_gap_hints(run) if hints else {}
    guide = unplaced_guidance(run)
    reasons = unplaced_reason_names(run)
    unplaced: list[dict[str, Any]] = []
    for w in np.flatnonzero(np.asarray(res.assignment) < 0).tolist():
        worker = ds.workers[w]
        suggestions = hint_of.get(w, [])
        g = guide.get(w)
        first_zh, first_en = ([g.zh], [g.en]) if g else ([], [])
        unplaced.append(
            {
                "worker_id": worker.worker_id,
                "home_county_code": worker.home_county_code,
                "reason": reasons[w],
                # the rule and what would help first, then the skill-gap training
                "hint_zh": "；".join(
                    [*([g.zh] if g and g.zh else []), *(s["training_zh"] for s in suggestions)]
                ),
                "hint_en": "; ".join(
                    [*([g.en] if g and g.en else []), *(s["training_en"] for s in suggestions)]
                ),
                "skill_gap": suggestions or None,
            }
        )
    unplaced.sort(key=lambda u: u["worker_id"])
    summary = run_summary(run)
    summary["job_codes_predicted"] = predicted_job_codes(run)
    summary["versions"] = package_versions()
    summary["source"] = source
    return RunRecord(
        run_id=new_run_id(now),
        created_at=now,
        kind=kind,
        base_run_id=base_run_id,
        params=run.options.params(),
        summary=summary,
        assignments=assignments,
        unplaced=unplaced,
        assignment_sha256=assignment_digest((a["worker_id"], a["job_id"]) for a in assignments),
    )


def skill_gap_hints(run: PlacementRun) -> dict[int, list[dict[str, Any]]]:
    """Worker index → skill-gap suggestions (dicts) for every unplaced worker.

    Suggestions count the openings the jobs offered, not those left after the run: an optimal run
    leaves a worker unplaced mostly when the jobs in their reach were filled, so counting what is
    left gave almost none of them a hint, while those jobs are the demand a training prepares for.
    Workers who share a home county, mobility, age, gender, wished codes and skills text get the
    same suggestions, so each such profile is computed once, from counts made once.
    """
    try:
        from matcher.scoring.skillgap import OpeningCounts
    except ImportError:  # the recommendation engineer's module is optional for recording
        return {}
    ctx, res = run.context, run.result
    assignment = np.asarray(res.assignment)
    titles = [j.title for j in run.dataset.jobs]
    counts = OpeningCounts().fit(ctx, ctx.job_openings, titles)
    codes = run.worker_codes
    out: dict[int, list[dict[str, Any]]] = {}
    cache: dict[tuple, list[dict[str, Any]]] = {}
    for w in np.flatnonzero(assignment < 0):
        wished = tuple(int(c) for c in codes[w] if c >= 0) if codes is not None else ()
        skill_text = worker_skill_text(run.dataset.workers[int(w)])
        key = (
            int(ctx.worker_county[w]),
            int(ctx.worker_mobility[w]),
            int(ctx.worker_age[w]),
            bool(ctx.worker_male[w]),
            wished,
            skill_text,
        )
        if key not in cache:
            found = counts.suggest(
                ctx.worker_allowed[w],
                int(ctx.worker_age[w]),
                bool(ctx.worker_male[w]),
                wished_codes=wished,
                skill_text=skill_text,
                names=run.occupation_names,
                top=HINT_TOP,
            )
            cache[key] = [s.to_dict() for s in found]
        out[int(w)] = cache[key]
    return out
