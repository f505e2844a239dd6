"""Every error family ends as one ``error:`` line and an exit code, never a traceback."""

from __future__ import annotations

import pytest
import typer

from api.cli._errors import EXIT_INPUT, EXIT_USAGE, run_app
from embeddings.errors import ModelNotFoundError
from matcher.errors import ConfigError, InputError, NotFoundError, PipelineError
from optimizer.errors import ProblemError, SolverError


def _app(exc: BaseException) -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.command()
    def boom() -> None:
        raise exc

    @app.command()
    def other() -> None:  # two commands, so the app takes the command name
        pass

    return app


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ProblemError("score 1e+18 is out of the supported range"), EXIT_INPUT),
        (SolverError("min-cost flow returned INFEASIBLE"), EXIT_INPUT),
        (ModelNotFoundError("model 'x' is not installed\nand cannot be downloaded"), EXIT_INPUT),
        (InputError("bad", file="a.csv", row=3, field="score"), EXIT_INPUT),
        (PipelineError("stage failed"), EXIT_INPUT),
        (PermissionError(13, "Permission denied", "out/run.json"), EXIT_INPUT),
        (ConfigError("--k must be >= 1"), EXIT_USAGE),
        (NotFoundError("run 'r1' not found"), EXIT_USAGE),
    ],
)
def test_error_families_are_one_line_and_an_exit_code(exc, code, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["laborbridge", "boom"])
    with pytest.raises(SystemExit) as done:
        run_app(_app(exc))
    assert done.value.code == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_an_unexpected_error_is_not_hidden(monkeypatch):
    monkeypatch.setattr("sys.argv", ["laborbridge", "boom"])
    with pytest.raises(ZeroDivisionError):
        run_app(_app(ZeroDivisionError("bug")))
