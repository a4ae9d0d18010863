"""`make run` installs only the runtime dependencies; `make test` adds the dev extra, each with
its own stamp (issue 13 point 22: `make run` installed the 1.2 GB test toolchain)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def dry_run(tmp_path: Path, target: str) -> str:
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    out = subprocess.run(
        ["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return out.stdout


def test_make_run_installs_runtime_only_and_test_adds_dev(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run = dry_run(tmp_path, "run")
    assert "pip install --quiet --no-compile -c constraints.txt -e ." in run
    assert "[dev]" not in run and ".installed-run" in run
    # `make run` compiles the installed packages once, beside them (no prefix), on every core;
    # `make test` never does: its tools keep their own bytecode.
    compile_line = next(line for line in run.splitlines() if "compileall" in line)
    assert compile_line.startswith("env -u PYTHONPYCACHEPREFIX ") and " -j " in compile_line
    test = dry_run(tmp_path, "pytest")
    assert "--no-compile -c constraints.txt -e '.[dev]'" in test and ".installed-dev" in test
    assert "compileall" not in test
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    ncores = len(cores) if cores else os.cpu_count() or 1
    assert f"mypy --num-workers {ncores}" in dry_run(tmp_path, "typecheck")
    # The suite runs on pytest-xdist workers, one per core plus one; an idle worker steals
    # queued tests.
    assert f"pytest -n {ncores + 1} --dist worksteal" in test
    # The suite's bytecode goes to the venv's own folder; the installs run without the prefix
    # (they compile nothing, and `make run` compiles beside the packages, where it reads them).
    lines = test.splitlines()
    assert all("PYTHONPYCACHEPREFIX=" in line for line in lines if "bin/pytest -n" in line)
    assert not any("PYTHONPYCACHEPREFIX" in line for line in lines if "pip install" in line)
