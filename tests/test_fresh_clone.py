"""The suite runs from a clone with nothing beside it (no sibling ``shared/`` folder)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The tests that read third-party files (published tables, LHC-Forms, Synthea).
DATA_TESTS = [
    "tests/pk/test_pk_reference.py",
    "tests/analytics/test_analytics_published.py",
    "tests/instruments/test_instruments_fhir.py",
]


@pytest.mark.slow
@pytest.mark.long
def test_clone_without_shared_collects_and_reads_its_own_data(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    clone = tmp_path / "only" / "ketacare"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    assert not (clone.parent / "shared").exists()
    # Bytecode is written (the second run reuses the first's) where the suite keeps its own
    # (Makefile: PYTHONPYCACHEPREFIX), so the installed packages' is reused too; the clone's
    # part is deleted below. Without a prefix it goes beside the sources.
    prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    env = {**os.environ, "PYTHONPATH": str(clone / "src"), "PYTHONDONTWRITEBYTECODE": ""}
    try:
        _collect_and_run(clone, env)
    finally:
        if prefix:
            mirror = Path(prefix) / clone.relative_to(clone.anchor)
            shutil.rmtree(mirror, ignore_errors=True)
            with contextlib.suppress(OSError):  # and the folders left empty above it
                os.removedirs(mirror.parent)


def _collect_and_run(clone: Path, env: dict[str, str]) -> None:
    """One pytest run in the clone: it collects the whole suite (a module that read
    ``../shared`` at import would fail the collection, and the run with it) and runs the data
    tests' fast tests, selected by module name. Two runs, a ``--collect-only`` and then the
    data tests, started Python, pytest and the app's imports twice (benchmarks/README.md,
    "Suite, fourteenth session")."""
    present = [Path(t).stem for t in DATA_TESTS if (clone / t).exists()]
    assert present, "no data test in the clone"
    # Their fast tests: each reads the data files; the slow ones (an oracle over hundreds of
    # responses) read the same files and already ran in this suite.
    quick = ["-q", "-p", "no:cacheprovider", "-rs", "-m", "not slow", "-k", " or ".join(present)]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *quick],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and " deselected" in summary, summary  # the rest was collected
    assert "SKIPPED" not in run.stdout, run.stdout[-3000:]
