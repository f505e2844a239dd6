"""``laborbridge classify``: job titles to CSCO 2022 occupation codes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli._app import app


@app.command("classify")
def classify(
    titles: list[str] = typer.Argument(None, help="Job titles or desired occupations."),
    file: Path | None = typer.Option(None, "--file", "-f", help="Read titles from a file, one per line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, with the top 5."),
    model: str = typer.Option(
        "default", "--model", help="Encoder name (load_encoder); 'none' = lexical only."
    ),
    csco: Path | None = typer.Option(
        None,
        "--csco",
        help="csco22.csv (default: LABORBRIDGE_CSCO, else the table that ships).",
    ),
    parent_threshold: float | None = typer.Option(
        None, "--parent-threshold", help="Answer the 小类 when the top probability is below this."
    ),
) -> None:
    """Map job titles to CSCO 2022 occupation codes: code, name and probability per title (top 3 with
    --json); an answer below probability 0.5 is marked unsure."""
    from embeddings.occupations import minor_group
    from matcher.scoring.occupations import OccupationModel

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
    if model.lower() != "none":
        from embeddings.cache import CachedEncoder
        from embeddings.encoder import load_encoder

        encoder = CachedEncoder(load_encoder(model))
    from api.settings import get_settings

    layer = OccupationModel(encoder, csco or get_settings().csco_path)
    names = {o.code: o.name for o in layer.occupations}
    for result in layer.classifier.classify(items, k=3):
        code, name = result.code, result.name
        if parent_threshold is not None and result.score < parent_threshold:
            parent = minor_group(code)
            code, name = (parent, names[parent]) if parent in names else (code, name)
        unsure = result.score < 0.5
        if as_json:
            record = {
                "title": result.title,
                "code": code,
                "name": name,
                "probability": round(result.score, 4),
                "unsure": unsure,
                "top3": [
                    {"code": m.code, "name": m.name, "probability": round(m.score, 4)} for m in result.top
                ],
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(
                f"{result.title}\t{code}\t{name}\t{result.score:.3f}{chr(9) + 'unsure' if unsure else ''}"
            )
