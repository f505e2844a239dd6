"""Regenerate ``BENCHMARKS.md`` from ``benchmarks/results/*.json``.

    python -m benchmarks.report [--results benchmarks/results] [--out BENCHMARKS.md]

One summary table (each benchmark's headline figures, each with its reference from the same run and
the ratio), a peers table (the optimizer against greedy, stable matching and HiGHS; the recommender
against plain top-k and a purely lexical one), the pipeline's stages with the bottleneck named, the
candidate study with the chosen k, then one table per benchmark. CPU figures are ratios; absolute
times are quoted only from GPU runs (the GPU column), as issue 10 asks.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.harness import REGISTRY, RESULTS_DIR, ROOT, load_results, portable_args
from benchmarks.report_sections import RENDERERS, bottleneck, dig, fmt, generic, pipeline_runs, ratio, table

DEFAULT_OUT = ROOT / "BENCHMARKS.md"
NO_GPU = "—"
STABLE = "worker-proposing stable matching"
LEXICAL = "lexical-only (char n-gram)"


# ---- peers --------------------------------------------------------------------------------------


def peers(results: dict[str, dict[str, Any]]) -> str:
    """One table: each peer's figure against the product's, from the optimizer and quality JSON."""
    rows: list[list[Any]] = []

    def add(peer: str, source: str, figure: str, value: Any, reference: str) -> None:
        rows.append([peer, source, figure, value, reference])

    opt = dig(results, "optimizer", "result", "sizes", default={}) or {}
    size = next((s for s in ("S", "M", "XS", "L") if "baselines" in opt.get(s, {})), None)
    if size:
        s, src = opt[size], f"optimizer {size}"
        add("optimal min-cost flow (product)", src, "objective", 1.0, "itself")
        add("HiGHS LP (exactness reference)", src, "objective rel. diff", s.get("objective_rel_diff"), "flow")
        add(
            "HiGHS LP (exactness reference)", src, "time flow / LP", s.get("time_ratio_flow_over_highs"), "LP"
        )
        for name, label in (("greedy", "greedy first-come-first-served"), ("stable_matching", STABLE)):
            b = s["baselines"].get(name, {})
            add(label, src, "objective / optimal", 1 - (b.get("objective_loss_rel") or 0), "flow")
            placed = ratio(s.get("n_placed", 0) - b.get("placed_loss", 0), s.get("n_placed"))
            add(label, src, "placed / optimal", placed, "flow")
    q = dig(results, "quality", "result", default={}) or {}
    runs = dig(q, "synthetic", "runs", default={}) or {}
    if runs:
        hyb = dig(runs, "tuned", "test", "ndcg_at_10")
        lex = dig(runs, "lexical_only", "test", "ndcg_at_10")
        dense = dig(runs, "dense_only (reference)", "test", "ndcg_at_10")
        add("hybrid recommender (product)", "quality, synthetic", "nDCG@10", hyb, "")
        add(LEXICAL, "quality, synthetic", "nDCG@10 / hybrid", ratio(lex, hyb), "hybrid")
        add("dense-only", "quality, synthetic", "nDCG@10 / hybrid", ratio(dense, hyb), "hybrid")
    real = dig(q, "real_titles", "runs", default={}) or {}
    if real:
        p_lex, p_hyb = dig(real, "lexical_only", "precision_at_10"), dig(real, "tuned", "precision_at_10")
        add(LEXICAL, "quality, real titles", "precision@10 / hybrid", ratio(p_lex, p_hyb), "hybrid")
    cong = dig(q, "congestion", "runs", default=[]) or []
    for c in cong[1:]:
        peer = f"congestion control λ={c['lambda']}"
        share = c.get("concentration_ratio_to_lambda0")
        add(peer, "quality, congestion", "top-1% jobs' share of slots / plain", share, "plain top-k (λ=0)")
        ndcg = ratio(c.get("ndcg_at_10"), cong[0].get("ndcg_at_10"))
        add(peer, "quality, congestion", "nDCG@10 / plain", ndcg, "plain top-k (λ=0)")
    if not rows:
        return "No peer figures yet (run the optimizer and quality benchmarks)."
    return table(["peer", "from", "figure", "value", "reference"], rows)


# ---- the document -------------------------------------------------------------------------------


def _machine_line(results: dict[str, dict[str, Any]]) -> str:
    env = next(
        (e for e in results.values() if isinstance(e.get("machine"), dict) and "cores" in e["machine"]), None
    )
    if env is None:
        return "Machine: not recorded."
    m = env["machine"]
    gpu = m.get("gpu")
    gpu_s = f"{gpu['name']} ({gpu['memory_gib']} GiB)" if gpu else "none"
    v = env.get("versions", {})
    vers = ", ".join(f"{k} {x}" for k, x in v.items())
    git = env.get("git") or {}
    return (
        f"Machine: {m.get('cpu_model')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB memory, "
        f"GPU: {gpu_s}; "
        f"load average {m.get('load_avg')} at the start (a shared machine: compare ratios, not times). "
        f"Commit {git.get('commit', '?')}{' (with local changes)' if git.get('dirty') else ''}."
        f"\n\nVersions: {vers}."
    )


def gpu_figure(name: str, env: dict[str, Any]) -> str:
    """The absolute GPU figure of a benchmark, if it ran on a GPU."""
    r = env.get("result") or {}
    if name == "encode" and dig(r, "cuda_fp16", "fp16_sentences_per_s"):
        return f"{dig(r, 'cuda_fp16', 'fp16_sentences_per_s'):,.0f} sentences/s fp16"
    if name == "pipeline":
        runs = pipeline_runs(r)
        gpu = [n for n in runs if "gpu" in n.lower()]
        if gpu:
            return ", ".join(f"{n} {sum(v.get('seconds') or 0 for v in runs[n].values()):.1f} s" for n in gpu)
    return NO_GPU


def render(results: dict[str, dict[str, Any]], source: str = "benchmarks/results") -> str:
    """The whole ``BENCHMARKS.md``."""
    summary, sections = [], []
    for name, env in results.items():
        status, r = env.get("status"), env.get("result")
        gpu, scale = gpu_figure(name, env), _scale(env)
        if status != "ok" or not isinstance(r, dict):
            summary.append([name, scale, status, "—", "", "", "", gpu])
            continue
        rows, body = RENDERERS.get(name, RENDERERS.get(name.split("_")[0], generic))(r)
        for fig, val, ref, rat in rows or [("(figures in its section)", None, "", None)]:
            summary.append([name, scale, status, fig, _blank(val), ref, _blank(rat), gpu])
        sections.append(f"## {name}\n\n{_provenance(env)}\n\n{body}\n")
    pipe = results.get("pipeline", {})
    neck = "the pipeline benchmark has not run yet"
    if pipe.get("status") == "ok":
        runs = pipeline_runs(pipe.get("result") or {})
        neck = "; ".join(f"{n}: **{bottleneck(v)}**" for n, v in runs.items()) or "no per-stage figures"
        model = dig(pipe, "result", "model")
        neck += f" (encoder `{model}`)" if model else ""
    cand = dig(results, "candidates", "result", "chosen_k")
    head = [
        "# Benchmarks",
        "",
        f"Generated by `python -m benchmarks.report` from `{source}/*.json`; do not edit by hand. "
        "`make bench` (SCALE=S|M|L) re-runs the registered benchmarks; each section gives the command "
        "that writes its result (`--label L -- ARGS`: a variant `NAME_L`, the scale's arguments then "
        "`ARGS`, scale `S + args` in the summary).",
        "",
        _machine_line(results),
        "",
        "Every CPU figure is a ratio against a reference measured in the same run; absolute times are "
        "quoted only from GPU runs (GPU column; `—`: no GPU where it ran).",
        "",
        f"**Bottleneck stage of the pipeline**: {neck}. **Default k** (candidate study): {fmt(cand)}.",
        "",
        "## Summary",
        "",
        table(["benchmark", "scale", "status", "figure", "value", "reference", "ratio", "GPU"], summary),
        "",
        "## Peers",
        "",
        peers(results),
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(sections)


def _blank(x: Any) -> Any:
    """A summary figure is a value or a ratio: the other cell stays empty."""
    return "" if x is None else x


def _scale(env: dict[str, Any]) -> str:
    """The scale a result was measured at; ``+ args`` when arguments were added after the scale's."""
    scale = env.get("scale")
    if scale is None:
        return "—"
    return f"{scale} + args" if env.get("extra_args") else str(scale)


def _provenance(env: dict[str, Any]) -> str:
    """What ran and when: the summary, the command, scale, seed and date, and for figures from an
    earlier run (converted to the harness's format, not re-run) its note."""
    if not env.get("command"):
        return "Run outside the harness: no command, scale or seed recorded."
    lines = []
    if env.get("summary"):
        lines.append(str(env["summary"]))
    when = str(env.get("started_at") or "")[:10] or dig(env, "earlier_run", "date")
    facts = [f"scale {env.get('scale')}"]
    if env.get("seed") is not None:
        facts.append(f"seed {env['seed']}")
    if when:
        facts.append(f"run {when}")
    lines.append(f"`{_command(env)}` ({', '.join(facts)})")
    if dig(env, "earlier_run", "note"):
        lines.append(f"*{env['earlier_run']['note']}*")
    return "\n\n".join(lines)


def _command(env: dict[str, Any]) -> str:
    """The command that writes this result through the harness; the script's own command line for
    an envelope that does not record its extra arguments."""
    base = env.get("variant_of") or env.get("benchmark")
    if "extra_args" not in env or base not in REGISTRY:
        return " ".join(portable_args([str(a) for a in env["command"]]))
    parts = ["python -m benchmarks", str(base), "--scale", str(env.get("scale"))]
    if env.get("variant_of"):
        parts += ["--label", str(env["benchmark"])[len(str(base)) + 1 :]]
    if env["extra_args"]:
        parts += ["--", *portable_args([str(a) for a in env["extra_args"]])]
    return " ".join(parts)


def write_report(results_dir: Path = RESULTS_DIR, out: Path = DEFAULT_OUT) -> Path:
    """Render the JSON in ``results_dir`` into ``out``; returns ``out``."""
    out = Path(out)
    try:
        source = str(Path(results_dir).resolve().relative_to(ROOT))
    except ValueError:
        source = str(results_dir)
    out.write_text(render(load_results(results_dir), source), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS_DIR)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    print(f"wrote {write_report(args.results, args.out)}")


if __name__ == "__main__":
    main()
