"""``ketacare scheduling``: set up a site, chairs, a closure and shifts; bad input exits 2
naming the option; ``remind`` runs the reminder job once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.scheduling.models import Chair, Closure, Site, StaffShift
from tests.cli_runner import run_cli
from tests.conftest import make_clinic
from tests.test_cli import cli_env


def test_setup_commands_and_errors(
    database_url: str, tmp_path: Path, db: Session, engine: object
) -> None:
    clinic = make_clinic(db, "public")
    clinic.timezone = "America/New_York"
    db.commit()
    env = cli_env(database_url, tmp_path)
    r = run_cli(
        env,
        "scheduling",
        "site-add",
        "--name",
        "Main",
        "--hours",
        "mon-fri 08:00-18:00",
        "--rems",
        "--chairs",
        "3",
    )
    assert r.returncode == 0, r.stderr
    site_id = db.scalars(select(Site.id)).one()
    db.commit()
    assert (
        run_cli(
            env, "scheduling", "chair-add", "--site", str(site_id), "--name", "Recliner"
        ).returncode
        == 0
    )
    r = run_cli(
        env,
        "scheduling",
        "closure-add",
        "--site",
        str(site_id),
        "--day",
        "2030-07-04",
        "--reason",
        "holiday",
    )
    assert r.returncode == 0, r.stderr
    r = run_cli(
        env,
        "scheduling",
        "shift-add",
        "--site",
        str(site_id),
        "--name",
        "Dr P",
        "--role",
        "prescriber",
        "--from",
        "2030-03-04 08:00",
        "--to",
        "2030-03-04 12:00",
    )
    assert r.returncode == 0, r.stderr
    shift = db.scalars(select(StaffShift)).one()
    assert shift.starts_at.hour == 13  # 08:00 New York (EST) is 13:00 UTC
    assert db.scalar(select(Closure.reason)) == "holiday"
    assert len(db.scalars(select(Chair)).all()) == 4
    db.commit()
    r = run_cli(env, "scheduling", "sites")
    assert "Main" in r.stdout and "Recliner" in r.stdout
    # Bad input: exit 2, the option named, nothing stored.
    bad = run_cli(env, "scheduling", "site-add", "--name", "X", "--hours", "mon 18:00-08:00")
    assert bad.returncode == 2 and "--hours" in bad.stderr
    bad = run_cli(
        env,
        "scheduling",
        "shift-add",
        "--site",
        str(site_id),
        "--name",
        "N",
        "--role",
        "nurse",
        "--from",
        "2030-03-04 12:00",
        "--to",
        "2030-03-04 08:00",
    )
    assert bad.returncode == 2 and "--to" in bad.stderr
    bad = run_cli(env, "scheduling", "closure-add", "--site", "999", "--day", "2030-07-05")
    assert bad.returncode == 2 and "--site" in bad.stderr
    assert len(db.scalars(select(Site)).all()) == 1
    db.commit()
    r = run_cli(env, "scheduling", "remind")
    assert r.returncode == 0 and "reminders sent: 0" in r.stdout


def test_demo_seed_makes_a_floor_once(
    database_url: str, tmp_path: Path, db: Session, engine: object
) -> None:
    env = cli_env(database_url, tmp_path)
    for _ in range(2):  # idempotent
        r = run_cli(env, "demo", "seed")
        assert r.returncode == 0, r.stderr
    assert [s.name for s in db.scalars(select(Site))] == ["Main floor"]
    assert len(db.scalars(select(Chair)).all()) == 6
    shifts = db.scalars(select(StaffShift)).all()
    assert {s.role.value for s in shifts} == {"nurse", "prescriber"}
    assert any(s.user_id is not None for s in shifts)
    db.commit()
