"""The synthetic clinic: seeded and deterministic, idempotent with --if-empty, everything
flagged synthetic, and its analytics near the calibration target (Oliver 2022)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ketacare.cli import app as cli
from ketacare.features.demo.generate import GeneratorError, generate
from ketacare.features.demo.trajectories import CALIBRATION, draw_cohort, phq9_answers
from ketacare.features.patients.models import Patient
from ketacare.features.reports.service import clinic_outcomes
from ketacare.features.sessions.models import SessionStatus, TreatmentSession
from ketacare.settings import Settings
from tests.conftest import count, make_clinic
from tests.reports.support import TODAY, cli_environment, small_clinic

runner = CliRunner()

#: Calibration tolerance for seed 1, 100 patients (absolute, on the day-42 observed rates).
RESPONSE_TOL, REMISSION_TOL = 0.10, 0.08


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    yield from cli_environment(monkeypatch, database_url, tmp_path)


def test_cohort_draw_is_deterministic_per_seed() -> None:
    a, b = draw_cohort(50, 7, TODAY), draw_cohort(50, 7, TODAY)
    assert a == b
    assert draw_cohort(50, 8, TODAY) != a
    assert all(day < (TODAY - p.start).days for p in a for day, _ in p.visits)


def test_phq9_answers_sum_to_the_total() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for total in range(25):
        answers = phq9_answers(total, rng)
        assert sum(answers) == total and answers[8] == 0 and max(answers) <= 3


@pytest.mark.long
@pytest.mark.postgresql_only  # 100 generated patients; the draws do not depend on the database
def test_calibration_and_labels(db: Session, settings: Settings) -> None:
    clinic, result = small_clinic(db, settings, n=100, seed=1)
    assert result.patients == 100 and result.sessions > 500
    # every charted session went through the dose and the discharge gate
    assert set(result.status) <= {"signed", "discharged"}
    result_db = clinic_outcomes(db, clinic.id)
    db.commit()
    assert result_db.analysis is not None
    o = result_db.analysis.overall
    day42 = next(t for t in o.timepoints if t.day == 42)
    assert day42.n_observed >= 70
    assert day42.response.rate is not None and day42.remission is not None
    assert abs(day42.response.rate - CALIBRATION["response"]) <= RESPONSE_TOL  # type: ignore[operator]
    assert abs(day42.remission.rate - CALIBRATION["remission"]) <= REMISSION_TOL  # type: ignore[operator]
    assert o.dropout_after_first.rate is not None and 0.02 <= o.dropout_after_first.rate <= 0.16
    assert result_db.cohort.n_synthetic == 100
    assert "synthetic" in result_db.synthetic_note.lower()
    synthetic = db.execute(select(func.count()).where(Patient.synthetic.is_(True))).scalar_one()
    db.commit()
    assert synthetic == count(db, Patient) == 100


def test_same_seed_same_clinic(db: Session, settings: Settings) -> None:
    a, _ = small_clinic(db, settings, n=6, seed=11, slug="public")
    b, _ = small_clinic(db, settings, n=6, seed=11, slug="second")
    c, _ = small_clinic(db, settings, n=6, seed=12, slug="third")
    dicts = [clinic_outcomes(db, x.id).analysis.as_dict() for x in (a, b, c)]  # type: ignore[union-attr]
    db.commit()
    assert dicts[0] == dicts[1]
    assert dicts[0] != dicts[2]


def test_seed_cannot_be_generated_twice(db: Session, settings: Settings) -> None:
    clinic, _ = small_clinic(db, settings, n=2, seed=4)
    with pytest.raises(GeneratorError, match="seed 4 was already generated"):
        generate(db, settings, clinic, 2, 4, today=TODAY)
    with pytest.raises(GeneratorError, match="--patients"):
        generate(db, settings, clinic, 0, 5, today=TODAY)
    db.rollback()


def test_cli_if_empty_is_idempotent(cli_env: None, db: Session) -> None:
    make_clinic(db)
    db.commit()
    first = runner.invoke(cli, ["demo", "generate", "--patients", "3", "--seed", "2",
                                "--if-empty"])  # fmt: skip
    assert first.exit_code == 0, first.stderr
    assert "SYNTHETIC" in first.stdout and "Oliver 2022" in first.stdout
    n = count(db, Patient)
    sessions = count(db, TreatmentSession)
    again = runner.invoke(cli, ["demo", "generate", "--patients", "3", "--seed", "2",
                                "--if-empty"])  # fmt: skip
    assert again.exit_code == 0 and "nothing generated" in again.stdout
    assert count(db, Patient) == n == 3 and count(db, TreatmentSession) == sessions
    dup = runner.invoke(cli, ["demo", "generate", "--patients", "3", "--seed", "2"])
    assert dup.exit_code == 2 and "--seed" in dup.stderr
    bad = runner.invoke(cli, ["demo", "generate", "--patients", "0"])
    assert bad.exit_code == 2 and "--patients" in bad.stderr
    signed = db.execute(
        select(func.count()).where(TreatmentSession.status == SessionStatus.signed)
    ).scalar_one()
    db.commit()
    assert signed > 0
