"""``laborbridge place``: a batch placement from a data folder or the store, recorded in the store.

Recording: with ``--db URL`` the run is recorded in that store; from a data folder it is recorded
in the folder's own store, ``sqlite:///<DATA_DIR>/runs.db``, so every run of one folder (whatever
its ``--out``) is in one store for ``runs list``/``diff`` and ``report``. ``--record-db URL``
records elsewhere, ``--no-record`` not at all. ``--what-if`` re-solves with changed openings or
targets and reports the change against the base run; it records nothing and writes only ``what_if.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._app import app

RUNS_DB = "runs.db"
"""The store a data folder's runs are recorded in, inside the folder (unless --db or --record-db)."""


def parse_targets(
    items: list[str], every: int | None, year: int, pairings: Any
) -> tuple[tuple[str, int], ...]:
    """``DISTRICT=N`` items (code or name) and ``every`` for each paired district, as sorted pairs."""
    from matcher.errors import ConfigError
    from matcher.geo import PairingMap
    from matcher.placement.whatif import district_code

    out: dict[str, int] = {}
    if every is not None:
        pmap = PairingMap.from_pairings(pairings, year)
        out = {d: every for d in pmap.counties_of_district}
    for item in items:
        name, sep, n = item.partition("=")
        if not sep or not n.strip().isdigit():
            raise ConfigError(f"--district-target {item!r}: use DISTRICT=N, e.g. 120102=50 or 河东区=50")
        out[district_code(name)] = int(n)
    return tuple(sorted(out.items()))


FLAGS = {  # the request's fields as this command spells them, for its error messages
    "k": "--k",
    "year": "--year",
    "mode": "--mode",
    "min_fit": "--min-fit",
    "wish_bonus": "--wish-bonus",
    "rules.county_share": "--county-share",
    "rules.priority": "--priority",
    "rules.time_limit_s": "--time-limit",
    "rules.district_targets": "--district-target",
}


@app.command("place")
def place(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder to write assignments.csv, unplaced.csv, candidates.csv, run.json."
        ),
    ],
    data_dir: Annotated[
        Path | None,
        typer.Argument(help="Folder with workers, enterprises, jobs [, pairings] (CSV/XLSX/JSON). Or --db."),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            min=1,
            max=2000,
            help="Candidate jobs per worker offered to the solver [default: 100, or --config's].",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Scoring configuration (TOML/JSON, e.g. written by `laborbridge tune`)."
        ),
    ] = None,
    prices: Annotated[
        bool,
        typer.Option(
            "--prices/--no-prices", help="Compute shadow prices: where one more opening helps most."
        ),
    ] = False,
    certify: Annotated[
        bool,
        typer.Option(
            "--certify/--no-certify",
            help="Price out every rule-passing pair beyond the top k (default), so the answer is "
            "optimal over all of them; --no-certify: optimal over the top-k candidates only.",
        ),
    ] = True,
    year: Annotated[
        int | None,
        typer.Option(
            "--year", help="Reference year for ages and pairings (default: the data's year, else this year)."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Embedding model name or path (default: settings).")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="score: maximise total score; count: most placements first.")
    ] = "score",
    cache_dir: Annotated[str | None, typer.Option("--cache-dir", help="Embedding cache folder.")] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Read the records from this store (SQLAlchemy URL); the run is recorded there."
        ),
    ] = None,
    dorm_beds: Annotated[
        bool, typer.Option("--dorm-beds/--no-dorm-beds", help="Enterprises' dorm beds cap workers from away.")
    ] = True,
    district_target: Annotated[
        list[str] | None,
        typer.Option(
            "--district-target",
            help="DISTRICT=N: place at least N workers from its paired counties in it (repeatable).",
        ),
    ] = None,
    district_targets: Annotated[
        int | None,
        typer.Option("--district-targets", min=0, help="The same target N for every paired district."),
    ] = None,
    county_share: Annotated[
        float | None,
        typer.Option(
            "--county-share",
            min=0.0,
            max=1.0,
            help="County fairness: each county's target is F × its fair share; worst county first (max–min), "
            "a target out of reach relaxed and reported.",
        ),
    ] = None,
    priority: Annotated[
        str, typer.Option("--priority", help="none | lexicographic (unemployed first) | weighted.")
    ] = "none",
    groups: Annotated[
        bool, typer.Option("--groups/--no-groups", help="Co-villager groups go to one enterprise together.")
    ] = False,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit", min=0.001, help="Seconds for the side rules after the flow (default 120)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Solver seed (recorded).")] = 0,
    include_employed: Annotated[
        bool,
        typer.Option("--include-employed", help="Also move employed workers (已就业); off: they stay put."),
    ] = False,
    min_fit: Annotated[
        float | None,
        typer.Option(
            "--min-fit",
            help="Never place into a job scoring below F, 0 <= F < 1 [default: 0.30, DEFAULT_MIN_FIT].",
        ),
    ] = None,
    wish_bonus: Annotated[
        float | None,
        typer.Option(
            "--wish-bonus",
            help="Objective bonus of a placement in a wished occupation, times the probability "
            "that it is one, 0 <= B <= 10 [default: 1, DEFAULT_WISH_BONUS; 0: scores alone].",
        ),
    ] = None,
    record_db: Annotated[
        str | None, typer.Option("--record-db", help="Record the run in this store instead.")
    ] = None,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Record the run in a store.")] = True,
    rematch: Annotated[
        str | None,
        typer.Option(
            "--rematch",
            help="Re-match the workers of this recorded run who left (outcomes recorded), "
            "excluding the enterprise each left.",
        ),
    ] = None,
    what_if_: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="'openings JOB_ID +50' | 'relax target DISTRICT' | 'target DISTRICT N' (repeatable).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local: this process | ray: a Ray cluster (pip install 'laborbridge[ray]'); "
            "the same assignment either way.",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --engine ray: the cluster (HOST:PORT of its head, or auto for the one this "
            "machine joined with `ray start`); default: a Ray instance on this machine for the run.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print run.json to standard output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Place workers into jobs optimally; write the assignment, unplaced and candidates; record the run."""
    from api.cli._progress import progress_for
    from api.settings import get_settings
    from matcher.errors import ConfigError
    from matcher.ingest import load_folder
    from matcher.placement.engine import make_engine
    from matcher.placement.files import write_run
    from matcher.placement.options import DEFAULT_MIN_FIT, DEFAULT_WISH_BONUS, PlaceRequest
    from matcher.placement.pipeline import run_placement
    from matcher.placement.whatif import parse_change

    if (data_dir is None) == (db is None):
        raise ConfigError("give either DATA_DIR or --db URL (exactly one)")
    changes = [parse_change(t) for t in what_if_ or []]
    runner = make_engine(engine, ray_address)  # a bad engine or an unreachable cluster fails first
    settings = get_settings()

    with progress_for(quiet or as_json) as progress:
        progress.start("load")
        t0 = time.perf_counter()
        if db is not None:
            from matcher.store import load_dataset

            ds = load_dataset(db)
        else:
            assert data_dir is not None
            ds = load_folder(data_dir)
        load_s = round(time.perf_counter() - t0, 3)
        year = year or ds.data_year() or dt.date.today().year
        target = record_db or db or f"sqlite:///{(Path(data_dir or '.') / RUNS_DB).resolve()}"
        exclude: tuple[tuple[str, str], ...] = ()
        if rematch is not None:
            ds, exclude, rematch = _rematch(ds, target, rematch)
        scoring, k_default, k_auto = _scoring_config(config, None)
        request = PlaceRequest.checked(
            FLAGS,
            k=k,
            year=year,
            mode=mode,
            rules={
                "dorm_beds": dorm_beds,
                "district_targets": dict(
                    parse_targets(district_target or [], district_targets, year, ds.pairings)
                ),
                "county_share": county_share,
                "priority": priority,
                "groups": groups,
                "time_limit_s": time_limit,
                "seed": seed,
            },
            shadow_prices=prices,
            certify=certify,
            include_employed=include_employed,
            min_fit=DEFAULT_MIN_FIT if min_fit is None else min_fit,
            wish_bonus=DEFAULT_WISH_BONUS if wish_bonus is None else wish_bonus,
        )
        options = request.options(
            year=year,
            k=k_default,
            k_auto=k_auto,
            scoring=scoring,
            model=model or settings.model,
            cache_dir=cache_dir or settings.cache_dir,
            csco_path=settings.csco_path,
            exclude=exclude,
        )
        try:
            run = run_placement(ds, options, progress, engine=runner)
        finally:
            getattr(runner, "close", lambda: None)()
        run.seconds = {"load": load_s, **run.seconds}
        if changes:
            _what_if(run, changes, out, as_json)
            return
        run_id = None
        if record:
            source = _shown_url(db) if db else str(Path(data_dir or ".").resolve())
            run_id = _record(run, target, progress, source, rematch)
    for err in ds.rejected[:20]:
        print(f"rejected: {err}", file=sys.stderr)
    if len(ds.rejected) > 20:
        print(f"rejected: … and {len(ds.rejected) - 20} more (see rejected.csv)", file=sys.stderr)
    extra = {"run_id": run_id, "record_db": _shown_url(target)} if run_id is not None else None
    summary = write_run(run, out, extra)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    _print_summary(summary, out)


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _rematch(ds: Any, url: str, ref: str) -> tuple[Any, tuple[tuple[str, str], ...], str]:
    """The re-match data set of run ``ref`` (in store ``url``), its exclusions and the run's full id."""
    from matcher.errors import ConfigError
    from matcher.runs.followup import rematch_dataset
    from matcher.store import open_engine
    from matcher.store.runs_repo import outcomes, resolve_run_id, run_assignments

    engine = open_engine(url)
    try:
        run_id = resolve_run_id(engine, ref)
        sub, exclude = rematch_dataset(ds, run_assignments(engine, run_id), outcomes(engine, run_id), run_id)
    finally:
        engine.dispose()
    if not sub.workers:
        raise ConfigError(f"run {run_id} has no recorded outcome of a worker who left: nothing to re-match")
    return sub, exclude, run_id


def _record(run: Any, url: str, progress: Any, source: str, base_run_id: str | None = None) -> str:
    from matcher.runs.record import build_record
    from matcher.store import open_engine
    from matcher.store.runs_repo import record_run

    t0 = time.perf_counter()
    progress.start("record", run.context.n_workers)
    kind = "rematch" if base_run_id else "plan"
    rec = build_record(run, source=source, kind=kind, base_run_id=base_run_id)
    engine = open_engine(url)
    try:
        run_id = record_run(engine, rec, on_batch=progress.advance)
    finally:
        engine.dispose()
    progress.finish()
    run.seconds["record"] = round(time.perf_counter() - t0, 3)
    return run_id


def _what_if(run: Any, changes: list, out: Path, as_json: bool) -> None:
    from matcher.placement.whatif import what_if

    result = what_if(run, changes).to_dict()
    out.mkdir(parents=True, exist_ok=True)
    (out / "what_if.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="what-if: " + " · ".join(result["changes"]), show_header=True)
    for col in ("", "base", "what-if", "change"):
        t.add_column(col)
    o, p = result["objective"], result["placed"]
    t.add_row("objective", f"{o['base']:.6f}", f"{o['new']:.6f}", f"{o['change']:+.6f}")
    t.add_row("placed", f"{p['base']:,}", f"{p['new']:,}", f"{p['change']:+,}")
    t.add_row("newly placed", "", "", f"{len(result['newly_placed']):,}")
    t.add_row("newly unplaced", "", "", f"{len(result['newly_unplaced']):,}")
    t.add_row("moved", "", "", f"{len(result['moved']):,}")
    for r in result["relaxed"]:
        t.add_row("relaxed", r["constraint"], f"{r['achieved']:.0f}/{r['target']:.0f}", r["binding"])
    Console().print(t)
    print(f"details: {out / 'what_if.json'} (nothing recorded)", file=sys.stderr)


def _certificate_text(t: Callable[..., str], cert: dict[str, Any] | None) -> str:
    """What pricing out proved, in the office's language (run.json keeps the English statement)."""
    if not cert:
        return t("place.certificate_off")
    words = {
        "n": f"{cert['rule_passing_pairs']:,}",
        "rounds": cert["rounds"],
        "added": f"{cert['edges_added']:,}",
        "k": cert["k"],
    }
    if cert["status"] == "optimal":
        return t("place.cert_optimal", **words)
    if cert["status"] == "flow_bound":
        return t(
            "place.cert_flow_bound", gap=f"{cert['gap']:.6f}", flow=f"{cert['flow_objective']:.6f}", **words
        )
    return t("place.cert_none", reason=cert.get("reason") or "", **words)


def _print_summary(s: dict, out: Path) -> None:
    """The run's summary table, in the command line's language (``LABORBRIDGE_LANG``)."""
    from rich.console import Console
    from rich.table import Table

    from api.cli._words import words

    t = words()
    table = Table(title=t("place.title"), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    wishes = s["wishes"]
    unplaced = [f"{t('reason.' + k)} {v:,}" for k, v in s["unplaced_reasons"].items() if v]
    rows = [
        (t("place.workers"), f"{s['n_workers']:,}"),
        (t("place.jobs"), f"{s['n_jobs']:,}"),
        (t("place.openings"), f"{s['n_openings']:,}"),
        (t("place.candidates"), f"{s['n_candidates']:,} (k={s['k']})"),
        (t("place.placed"), f"{s['n_placed']:,} ({s['n_placed'] / max(s['n_workers'], 1):.1%})"),
        (
            t("place.wished"),
            t("place.wished_value", n=f"{wishes['placed_in_wished']:,}", most=f"{wishes['most_possible']:,}")
            + (f" ({wishes['share_of_possible']:.1%})" if wishes["share_of_possible"] else ""),
        ),
        (t("place.coded"), f"{s.get('jobs_code_predicted', 0):,}"),
        (t("place.unplaced"), "; ".join(unplaced) or t("place.none")),
        (t("place.objective"), f"{s['objective']:.6f}"),
        (t("place.bound"), t("place.bound_value", bound=f"{s['bound']:.6f}", gap=f"{s.get('gap', 0.0):.2e}")),
        (t("place.status"), f"{s['status']} ({s['solver']})"),
        (t("place.certificate"), _certificate_text(t, s.get("certificate"))),
        (t("place.model"), s["model"]),
        (t("place.rejected"), str(s["n_rejected_rows"])),
    ]
    if s.get("unplaced_rules"):
        by_rule = ", ".join(f"{k} {v:,}" for k, v in s["unplaced_rules"].items())
        rows.append((t("place.unplaced_rules"), by_rule))
    late = s.get("pairings_after_year", [])
    if late:  # one row: the pairs themselves are in run.json
        pairs = ", ".join(f"{p['district_code']}↔{p['county_code']} ({p['since_year']})" for p in late[:3])
        more = t("place.and_more", n=len(late) - 3) if len(late) > 3 else ""
        rows.append(
            (
                t("place.pairing_late"),
                t("place.pairing_late_value", n=len(late), year=s["year"], pairs=pairs + more),
            )
        )
    for name, state in s.get("rule_status", {}).items():
        rows.append((t("place.rule", name=name), state))
    for r in s.get("relaxed", []):
        value = t(
            "place.relaxed_value",
            achieved=f"{r['achieved']:.0f}",
            target=f"{r['target']:.0f}",
            binding=r["binding"],
        )
        rows.append((t("place.relaxed", name=r["constraint"]), value))
    rows += [(t("place.seconds", step=k), f"{v:.2f}") for k, v in s["seconds"].items()]
    if s.get("run_id"):
        rows.append((t("place.run_id"), t("place.run_in", run_id=s["run_id"], db=s["record_db"])))
    rows.append((t("place.output"), str(out)))
    for a, b in rows:
        table.add_row(a, b)
    Console().print(table)


def _scoring_config(path: Path | None, k: int | None) -> tuple[Any, int, bool]:
    """The scoring configuration and k: ``--k`` wins, then the file's ``[candidates] k``, then the
    ``k`` setting (``LABORBRIDGE_K``); and whether none of them gave it (a certified run then
    picks k from the data)."""
    from api.settings import get_settings
    from matcher.scoring.factors import ScoringConfig

    settings = get_settings()
    unset = "k" not in settings.model_fields_set
    if path is None:
        return ScoringConfig(), k or settings.k, k is None and unset
    from matcher.tuning.search import read_k

    file_k = read_k(path)
    return ScoringConfig.from_file(path), k or file_k or settings.k, k is None and not file_k and unset
