"""Database mode equals file mode on the same data; --by on the database; period cohorts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ketacare.cli import app as cli
from ketacare.features.assessments.models import Assessment
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.models import Patient, Sex
from ketacare.features.reports.service import load_cohort, naive_utc
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.reports.support import cli_environment, small_clinic

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    yield from cli_environment(monkeypatch, database_url, tmp_path)


def _export(db: Session, tmp_path: Path) -> list[str]:
    """Write the clinic's rows as the exported files, straight from the ORM rows."""
    a = tmp_path / "a.csv"
    s = tmp_path / "s.csv"
    p = tmp_path / "p.csv"
    rows = db.execute(select(Assessment).order_by(Assessment.id)).scalars()
    a.write_text("patient_id,date,instrument,total\n" + "".join(
        f"{r.patient_id},{naive_utc(r.completed_at).isoformat()},{r.instrument_id},{r.total}\n"
        for r in rows), encoding="utf-8")  # fmt: skip
    first: dict[int, object] = {}
    lines = []
    for ts, protocol in db.execute(
        select(TreatmentSession, TreatmentPlan.protocol_id)
        .join(TreatmentPlan, TreatmentPlan.id == TreatmentSession.plan_id)
        .where(TreatmentSession.dose_start.is_not(None))
        .order_by(TreatmentSession.dose_start)
    ).all():
        assert ts.dose_start is not None
        first.setdefault(ts.patient_id, naive_utc(ts.dose_start).date())
        lines.append(f"{ts.patient_id},{naive_utc(ts.dose_start).isoformat()},{protocol}\n")
    s.write_text("patient_id,date,protocol\n" + "".join(lines), encoding="utf-8")
    people = []
    for pt in db.execute(select(Patient)).scalars():
        if pt.id in first:
            age = pt.age_on(first[pt.id])  # type: ignore[arg-type]
            sex = "" if pt.sex == Sex.unknown else pt.sex.value
            people.append(f"{pt.id},{sex},{'' if age is None else age}\n")
    p.write_text("patient_id,sex,age\n" + "".join(people), encoding="utf-8")
    db.commit()
    return ["--assessments", str(a), "--sessions", str(s), "--patients", str(p)]


def test_database_mode_equals_file_mode(
    cli_env: None, db: Session, settings: Settings, tmp_path: Path
) -> None:
    small_clinic(db, settings, n=8, seed=3)
    files = _export(db, tmp_path)
    by = ["--by", "protocol", "--by", "sex", "--by", "age-band"]
    from_db = runner.invoke(cli, ["analytics", "outcomes", *by, "--json"])
    from_files = runner.invoke(cli, ["analytics", "outcomes", *files, *by, "--json"])
    assert from_db.exit_code == 0, from_db.stderr
    assert from_files.exit_code == 0, from_files.stderr
    d, f = json.loads(from_db.stdout), json.loads(from_files.stdout)
    assert d == f
    assert d["n_patients"] == 8
    assert "8 of 8 patients are synthetic" in from_db.stderr


@pytest.mark.parametrize("key", ["protocol", "sex", "age-band"])
def test_by_on_the_database(cli_env: None, db: Session, settings: Settings, key: str) -> None:
    small_clinic(db, settings, n=10, seed=5)
    res = runner.invoke(cli, ["analytics", "outcomes", "--by", key, "--json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    groups = out["breakdowns"][key]
    assert sum(g["n_patients"] for g in groups) == out["n_patients"] == 10
    if key == "protocol":
        assert {g["group"] for g in groups} <= {"iv-ketamine-induction", "esketamine-trd"}
    table = runner.invoke(cli, ["analytics", "outcomes", "--by", key])
    assert table.exit_code == 0 and f"By {key}" in table.stdout
    bad = runner.invoke(cli, ["analytics", "outcomes", "--by", "colour"])
    assert bad.exit_code == 2 and "--by" in bad.stderr


def test_period_selects_an_inception_cohort(db: Session, settings: Settings) -> None:
    clinic, _ = small_clinic(db, settings, n=12, seed=6)
    everyone = load_cohort(db, clinic.id, "phq9")
    starts = sorted({str(t)[:10] for t in everyone.sessions.when})
    middle = starts[len(starts) // 2]
    from datetime import date

    later = load_cohort(db, clinic.id, "phq9", start=date.fromisoformat(middle))
    earlier = load_cohort(db, clinic.id, "phq9", end=date.fromisoformat(middle))
    db.commit()
    assert 0 < later.n_treated < everyone.n_treated
    assert later.n_treated + earlier.n_treated >= everyone.n_treated
    assert set(later.assessments.patient_id) <= set(later.sessions.patient_id)
    assert later.n_synthetic == later.n_treated


def test_outcomes_are_kept_by_content_and_follow_new_data(db: Session, settings: Settings) -> None:
    """A second view of unchanged data reuses the analysis (same digest, same object); a new
    score changes the digest and the figures are computed again; synthetic patients left out
    by the query are still counted."""
    from datetime import timedelta

    from ketacare.features.reports.service import clinic_outcomes

    clinic, _ = small_clinic(db, settings, n=8, seed=3)
    one = clinic_outcomes(db, clinic.id, "phq9")
    two = clinic_outcomes(db, clinic.id, "phq9")
    assert one.digest and one.digest == two.digest and one.analysis is two.analysis
    last = (
        db.execute(
            select(Assessment)
            .where(Assessment.instrument_id == "phq9", Assessment.total.is_not(None))
            .order_by(Assessment.id.desc())
        )
        .scalars()
        .first()
    )
    assert last is not None and last.total is not None
    db.add(
        Assessment(
            clinic_id=last.clinic_id, patient_id=last.patient_id, instrument_id="phq9",
            instrument_version=last.instrument_version, answers=last.answers,
            total=last.total, completed_at=last.completed_at + timedelta(days=7),
            source=last.source, complete=last.complete, flags=last.flags, band=last.band,
            band_set=last.band_set,
        )
    )  # fmt: skip
    db.flush()
    three = clinic_outcomes(db, clinic.id, "phq9")
    assert three.digest != one.digest and three.analysis is not one.analysis
    assert len(three.cohort.assessments) == len(one.cohort.assessments) + 1
    # A changed score (no row added) is new data too, and so is a patient's recorded sex.
    last.total = last.total - 1
    db.flush()
    four = clinic_outcomes(db, clinic.id, "phq9")
    assert four.digest not in (one.digest, three.digest)
    patient = db.get(Patient, last.patient_id)
    assert patient is not None
    patient.sex = Sex.female if patient.sex != Sex.female else Sex.male
    db.flush()
    five = clinic_outcomes(db, clinic.id, "phq9")
    assert five.digest not in (one.digest, three.digest, four.digest)
    assert clinic_outcomes(db, clinic.id, "phq9") is clinic_outcomes(db, clinic.id, "phq9") or (
        db.get_bind().dialect.name != "postgresql"
    )
    real = clinic_outcomes(db, clinic.id, "phq9", include_synthetic=False)
    assert real.cohort.n_synthetic_excluded == one.cohort.n_treated == 8
    assert real.cohort.n_treated == 0 and len(real.cohort.assessments) == 0
