"""``laborbridge serve``: the HTTP service (FastAPI under uvicorn); OpenAPI docs at ``/docs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store URL (default: settings db_url, else sqlite:///data/laborbridge.db)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=64, help="Server processes (each loads the model and index)."),
    ] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
    keep_alive: Annotated[
        int, typer.Option("--timeout-keep-alive", min=1, help="Seconds an idle connection is kept open.")
    ] = 75,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", help="Scoring configuration (TOML/JSON, e.g. written by `laborbridge tune`)."
        ),
    ] = None,
) -> None:
    """Serve the API. The model and the index load once at start-up; /ready says when they have."""
    import os

    import uvicorn

    from api.settings import Settings

    if db:
        os.environ["LABORBRIDGE_DB_URL"] = db  # the factory reads settings in each worker process
    if config:
        from matcher.scoring.factors import ScoringConfig

        ScoringConfig.from_file(config)  # a bad file fails here, with its path, not in a worker
        os.environ["LABORBRIDGE_SCORING_CONFIG"] = str(Path(config).resolve())
    Settings()  # fail now, not in a worker, on bad settings
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        # Longer than clients' idle pools: a server closing an idle connection just as a client
        # reuses it makes that request fail (uvicorn's default is 5 s).
        timeout_keep_alive=keep_alive,
    )
