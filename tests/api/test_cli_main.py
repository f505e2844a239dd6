"""``laborbridge NAME ...`` runs a top-level command through a group that holds only that command:
it must answer exactly as the whole app does (usage lines, help, errors, exit codes)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.cli import app
from api.cli._app import command_only

_MAIN = "from api.cli import main; main()"
_WHOLE = "from api.cli import app; from api.cli._errors import run_app; run_app(app)"


def _run(entry: str, argv: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-c", entry, *argv], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "--help"],
        ["solve", "--bogus"],
        ["solve", "e.csv"],
        ["import", "--help"],  # its module is import_.py
        ["candidates", "--help"],  # registered by recommend.py
        ["runs", "--help"],
        ["solv"],
        ["--help"],
        [],
    ],
)
def test_main_answers_as_the_whole_app(argv):
    via_main = _run(_MAIN, argv)
    assert via_main == _run(_WHOLE, argv)
    assert via_main[0] in (0, 2) and (via_main[1] or via_main[2])


def test_only_plain_top_level_commands_are_narrowed():
    narrow = command_only("solve")
    assert narrow is not None and set(narrow.commands) == {"solve"}
    assert narrow.name == app.info.name
    for name in ("runs", "keys", "--help", "", "solv"):  # groups, options and typos: the whole app
        assert command_only(name) is None


def test_a_command_imports_only_its_own_module():
    code = (
        "import sys\nfrom api.cli import main\nsys.argv = ['laborbridge', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted(m for m in sys.modules if m.startswith('api.cli.') and m[8] != '_'))"
    )

    def loaded(argv: list[str]) -> set[str]:
        line = next(x for x in _run(code, argv)[1].splitlines() if x.startswith("MODULES"))
        return set(line.split()[1:])

    assert loaded(["solve", "--help"]) == {"api.cli.solve"}
    assert loaded(["import", "--help"]) == {"api.cli.import_"}
    assert {"api.cli.solve", "api.cli.place", "api.cli.runs"} <= loaded(["runs", "--help"])  # a group: all
