"""The lazy ``ketacare`` CLI: start-up imports no feature, ``--help`` lists every command group
from its stub, each stub's help line matches the real command, and one real subprocess per
command group resolves it (the smoke test; the commands themselves are tested in process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ketacare.cli import COMMANDS, load
from tests.real_http import KETACARE

HEAVY = ("fastapi", "matplotlib", "fpdf", "sqlalchemy", "starlette", "ketacare.features")
#: What a command group's module leaves to its commands (imported as they run).
LOADED_BY_COMMANDS = ("sqlalchemy", "pydantic", "fastapi", "fpdf", "matplotlib", "numpy")


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "TERM": "dumb"}


def _python(code: str) -> str:
    """What a fresh ``python -c code`` prints (it must succeed)."""
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_importing_the_cli_imports_no_feature() -> None:
    # Only the registry, the feature packages' (empty) __init__ and their declarations
    # (feature.py: strings only) are read; no feature code, no heavy library.
    code = (
        "import sys, ketacare.cli\n"
        f"heavy = {HEAVY!r}\n"
        "def light(m):\n"
        "    parts = m.split('.')\n"
        "    return m == 'ketacare.features.registry' or len(parts) <= 3 or (\n"
        "        len(parts) == 4 and parts[3] == 'feature')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy) and not light(m)))\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy[:-1])))\n"
    )
    assert _python(code).splitlines() == ["[]", "[]"]


def test_no_command_group_imports_the_database_web_pdf_or_chart_libraries() -> None:
    # A group's module is imported for its --help (and its subprocess smoke test below): it
    # imports its feature's code inside each command, so the help loads Typer alone: 0.22-0.24
    # s of CPU, against 0.33-1.10 s when SQLAlchemy, pydantic and the services came with it
    # (benchmarks/README.md, "Suite, fourteenth session"). FastAPI is for `ketacare serve`;
    # fpdf2 and matplotlib load with the first PDF or chart drawn (docs/architecture.md, "Hot
    # paths"): a service that imported a page helper once brought FastAPI into four groups,
    # and the report and cs groups imported fpdf2 ("Suite, eleventh/twelfth session").
    code = (
        "import sys\n"
        "from ketacare.cli import COMMANDS, load\n"
        f"heavy = {LOADED_BY_COMMANDS!r}\n"
        "for name, entry in COMMANDS.items():\n"
        "    if entry.group:\n"
        "        load(name)\n"
        "        found = [m for m in heavy if m in sys.modules]\n"
        "        if found:\n"
        "            print(name, found)\n"
        "            break\n"
    )
    first = _python(code).strip()
    assert not first, f"loading a command group imports a heavy library: {first}"


def test_help_lists_every_command_group_with_its_help() -> None:
    r = subprocess.run([KETACARE, "--help"], capture_output=True, text=True, env=_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for name, entry in COMMANDS.items():
        assert any(f" {name} " in line and entry.help in line for line in lines), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_stub_help_matches_the_real_command(name: str) -> None:
    real = load(name)
    assert real.name == name
    assert (real.help or "").strip().splitlines()[0] == COMMANDS[name].help


@pytest.mark.parametrize("name", [name for name, entry in COMMANDS.items() if entry.group])
def test_subprocess_smoke_each_command_group(name: str) -> None:
    r = subprocess.run(
        [KETACARE, name, "--help"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout and name in r.stdout
    assert COMMANDS[name].help.split(" (")[0][:40] in " ".join(r.stdout.split())
