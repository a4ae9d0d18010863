"""Run the ``ketacare`` CLI in process, the way the console script would run it in a subprocess.

``run_cli(env, *args, stdin=...)`` takes the same environment dict a subprocess would get and
returns a :class:`subprocess.CompletedProcess` (returncode, stdout, stderr), so tests written
for the console script keep their assertions. An unexpected exception is reported as a
subprocess would report it: exit status 1 and the traceback on stderr. One real subprocess per
command group stays in tests/test_cli_lazy.py (the smoke test).
"""

from __future__ import annotations

import os
import subprocess
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from typer.testing import CliRunner

from ketacare.cli import app
from ketacare.settings import get_settings

_runner = CliRunner()


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``env`` inside the block (settings re-read), then restored."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def run_cli(
    env: Mapping[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``ketacare ARGS`` in process with ``env`` as the environment."""
    with environment(env):
        result = _runner.invoke(app, list(args), input=stdin)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        stderr += "".join(traceback.format_exception(exc))
    return subprocess.CompletedProcess(["ketacare", *args], result.exit_code, result.stdout, stderr)
