"""``ketacare billing``: profile, payer, coverage and deliver; bad input exits 2 naming the
option and stores nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.billing.models import BillingProfile, Coverage, Payer
from tests.cli_runner import run_cli
from tests.conftest import make_clinic
from tests.intake_app.intake_support import make_patient
from tests.test_cli import cli_env

PROFILE = ["billing", "profile", "--name", "Clinic", "--npi", "1234567893", "--tax-id",
           "12-3456789", "--address", "1 Main St", "--city", "Boston", "--state", "MA",
           "--zip", "02110-1234", "--fee", "G2083=1290"]  # fmt: skip


def test_profile_payer_coverage(db: Session, database_url: str, tmp_path: Path) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db, clinic)
    pid = patient.id
    db.commit()
    env = cli_env(database_url, tmp_path)
    r = run_cli(env, *PROFILE, "--booking-codes", "iv=96365,96366")
    assert r.returncode == 0, r.stderr
    r = run_cli(env, "billing", "payer", "--name", "Medicare", "--payer-id", "12345",
                "--bills-drug", "--modifier", "J0013=JZ")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli(env, "billing", "coverage", "--patient", str(pid), "--payer", "Medicare",
                "--member-id", "W1", "--address", "2 Elm St", "--city", "Boston",
                "--state", "MA", "--zip", "02110")  # fmt: skip
    assert r.returncode == 0, r.stderr
    again = run_cli(env, "billing", "coverage", "--patient", str(pid), "--payer", "Medicare",
                    "--member-id", "W1", "--address", "2 Elm St", "--city", "Boston",
                    "--state", "MA", "--zip", "02110")  # fmt: skip
    assert again.returncode == 2 and "--payer-id" in again.stderr
    db.expire_all()
    profile = db.scalars(select(BillingProfile)).one()
    assert (profile.npi, profile.tax_id, profile.fees) == (
        "1234567893",
        "123456789",
        {"G2083": 129000},
    )
    assert profile.booking_codes == "iv=96365,96366"
    payer = db.scalars(select(Payer)).one()
    assert payer.policy["bills_drug_separately"] is True
    assert payer.policy["modifiers"] == {"J0013": ["JZ"]}
    assert len(db.scalars(select(Coverage)).all()) == 1
    db.commit()  # end the test's read transaction (SQLite write lock)
    delivered = run_cli(env, "billing", "deliver")
    assert delivered.stdout.strip() == "0 claim file(s) delivered", delivered


def test_bad_input_exits_2(db: Session, database_url: str, tmp_path: Path) -> None:
    make_clinic(db)
    db.commit()
    env = cli_env(database_url, tmp_path)
    bad_npi = [*PROFILE]
    bad_npi[bad_npi.index("1234567893")] = "1234567890"
    r = run_cli(env, *bad_npi)
    assert r.returncode == 2 and "--npi" in r.stderr
    r = run_cli(env, *PROFILE[:-2], "--fee", "G2083")
    assert r.returncode == 2 and "--fee" in r.stderr
    r = run_cli(env, "billing", "payer", "--name", "X", "--payer-id", "1", "--pos", "office")
    assert r.returncode == 2 and "--pos" in r.stderr
    r = run_cli(env, *PROFILE, "--booking-codes", "oral=X1")
    assert r.returncode == 2 and "--booking-codes" in r.stderr and "oral" in r.stderr
    db.expire_all()
    assert db.scalars(select(BillingProfile)).all() == []
