"""The feature registry: every feature package that has routes, CLI commands or periodic jobs
declares them in its ``feature.py`` and is listed in ``FEATURE_MODULES``; the app and the CLI
read nothing else, and ``ketacare jobs run --once`` runs every registered job."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import ketacare.features
from ketacare.cli import COMMANDS
from ketacare.db.engine import session_factory
from ketacare.features import registry
from ketacare.features.jobs.runner import run_all
from ketacare.features.registry import Feature, Job
from ketacare.settings import Settings
from ketacare.web.app import create_app, routers
from tests.cli_runner import run_cli
from tests.conftest import AUDIT_KEY, SECRET, make_clinic

FEATURES = Path(ketacare.features.__file__).parent
ROUTE = ("APIRouter(",)
CLI = ("typer.Typer(",)


def _packages() -> list[Path]:
    return sorted(p for p in FEATURES.iterdir() if (p / "__init__.py").exists())


def _declares(package: Path, needles: tuple[str, ...]) -> list[str]:
    return sorted(f.stem for f in package.glob("*.py") if any(n in f.read_text() for n in needles))


def test_every_feature_with_routes_or_commands_is_registered() -> None:
    missing = [
        p.name
        for p in _packages()
        if (_declares(p, ROUTE) or _declares(p, CLI)) and p.name not in registry.FEATURE_MODULES
    ]
    assert missing == []
    assert len(set(registry.FEATURE_MODULES)) == len(registry.FEATURE_MODULES)


def test_each_feature_declares_every_router_it_defines() -> None:
    declared = {t for f in registry.features() for t in f.routers}
    for package in _packages():
        for module in _declares(package, ROUTE):
            target = f"ketacare.features.{package.name}.{module}:router"
            assert target in declared, target


def test_feature_modules_import_nothing_but_the_registry() -> None:
    for name in registry.FEATURE_MODULES:
        tree = ast.parse((FEATURES / name / "feature.py").read_text())
        imported = [
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        ] + [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert set(imported) <= {"ketacare.features.registry", "__future__"}, name


def test_declarations_resolve_and_names_match() -> None:
    for feature in registry.features():
        assert isinstance(feature, Feature)
        for target in feature.routers:
            registry.resolve(target)
        for job in feature.jobs:
            assert callable(registry.resolve(job.target)), job.target
        for name, command in feature.commands.items():
            assert COMMANDS[name] == command
    assert {n for f in registry.features() for n in f.commands} == set(COMMANDS)


def test_app_includes_exactly_the_registered_routers_in_registry_order(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'k.db'}",
        data_dir=tmp_path,
        secret_key=SECRET,
        audit_key=AUDIT_KEY,
    )
    ordered = routers()
    assert len(ordered) == sum(len(f.routers) for f in registry.features())
    # Busy routers first (the old hand order's head), the public screening API before all.
    first = ("screening.api", "sessions.api", "assessments.api")
    head = [registry.resolve(f"ketacare.features.{m}:router") for m in first]
    assert ordered[:3] == head
    assert ordered[0] is registry.resolve("ketacare.features.screening.api:router")
    # The app serves each router's own routes, in router order, after the static mounts
    # and before its few own routes (web/app.py).
    served = [r for r in create_app(settings).routes if isinstance(r, APIRoute)]
    expected = [route for router in ordered for route in router.routes]
    assert served[: len(expected)] == expected
    own = {"/healthz", "/docs", "/favicon.ico", "/readyz", "/version"}
    assert {route.path for route in served[len(expected) :]} == own


def test_help_lists_single_commands_before_groups() -> None:
    kinds = [entry.group for entry in COMMANDS.values()]
    assert kinds == sorted(kinds)


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    return env | {
        "KETACARE_DATABASE_URL": database_url,
        "KETACARE_DATA_DIR": str(tmp_path),
        "KETACARE_SECRET_KEY": SECRET,
        "KETACARE_AUDIT_KEY": AUDIT_KEY,
    }


def test_jobs_list_and_run_once(database_url: str, db: Session, tmp_path: Path) -> None:
    make_clinic(db)
    db.commit()
    env = _env(database_url, tmp_path)
    r = run_cli(env, "jobs", "list")
    assert r.returncode == 0, r.stderr
    assert "links-and-alerts\tketacare.features.outreach.jobs:run_job" in r.stdout
    r = run_cli(env, "jobs", "run", "--once")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "links-and-alerts: RunReport(links=0, escalated=0)" in lines
    assert [line.split(":")[0] for line in lines] == [j.name for j in registry.features_jobs()]


def broken_job(*_args: object) -> None:
    """A job that fails (the runner must log it by name and go on)."""
    raise RuntimeError("boom")


def test_a_failing_job_does_not_stop_the_others(
    database_url: str, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = [Job("broken", f"{__name__}:broken_job"), *registry.features_jobs()]
    monkeypatch.setattr(registry, "features_jobs", lambda: jobs)
    results = run_all(session_factory(engine), settings)
    assert [(r.name, r.error) for r in results] == [
        ("broken", "RuntimeError"),
        *((job.name, None) for job in jobs[1:]),
    ]


def test_jobs_run_rejects_a_bad_interval(tmp_path: Path) -> None:
    r = run_cli(_env("sqlite:///" + str(tmp_path / "x.db"), tmp_path), "jobs", "run",
                "--interval", "-1")  # fmt: skip
    assert r.returncode == 2
    assert "--interval" in r.stderr
