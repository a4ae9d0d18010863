"""PDF reports: every page rendered with pdftoppm and non-blank; the report CLI and its exit
status 2 on bad input (unknown patient named, bad dates)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ketacare.cli import app as cli
from ketacare.features.audit.models import AuditEvent
from ketacare.features.patients.models import Patient
from ketacare.features.reports.patient import patient_report
from ketacare.features.reports.pdf import clinic_pdf, patient_pdf
from ketacare.features.reports.service import clinic_outcomes
from ketacare.settings import Settings
from tests.conftest import make_clinic
from tests.reports.support import cli_environment, ink, pdf_pages_png, small_clinic

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    yield from cli_environment(monkeypatch, database_url, tmp_path)


def _pages_have_ink(pdf: bytes, tmp_path: Path, min_pages: int) -> None:
    assert pdf.startswith(b"%PDF")
    pages = pdf_pages_png(pdf, tmp_path)
    assert len(pages) >= min_pages
    for page in pages:
        assert ink(page) > 0.005, f"{page.name} is blank"


def test_clinic_and_patient_pdfs_render(db: Session, settings: Settings, tmp_path: Path) -> None:
    clinic, _ = small_clinic(db, settings, n=12, seed=8)
    body = clinic_pdf(clinic_outcomes(db, clinic.id), "Test Clinic", "All treated patients")
    patient = db.execute(select(Patient).order_by(Patient.id).limit(1)).scalar_one()
    report = patient_report(db, patient)
    one = patient_pdf(report, "Test Clinic")
    db.commit()
    _pages_have_ink(body, tmp_path / "clinic", 3)
    _pages_have_ink(one, tmp_path / "patient", 1)


def test_empty_clinic_pdf_renders(db: Session, settings: Settings, tmp_path: Path) -> None:
    clinic = make_clinic(db)
    body = clinic_pdf(clinic_outcomes(db, clinic.id), "Test Clinic", "All treated patients")
    db.commit()
    _pages_have_ink(body, tmp_path, 1)


def test_report_cli(cli_env: None, db: Session, settings: Settings, tmp_path: Path) -> None:
    small_clinic(db, settings, n=4, seed=9)
    pid = db.execute(select(Patient.id).order_by(Patient.id).limit(1)).scalar_one()
    db.commit()
    out = tmp_path / "p.pdf"
    res = runner.invoke(cli, ["report", "patient", str(pid), "--pdf", str(out)])
    assert res.exit_code == 0, res.stderr
    _pages_have_ink(out.read_bytes(), tmp_path / "p", 1)
    clinic = tmp_path / "c.pdf"
    res = runner.invoke(cli, ["report", "clinic", "--from", "2024-01-01", "--to", "2025-12-31",
                              "--pdf", str(clinic)])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "(4 patients)" in res.stdout
    _pages_have_ink(clinic.read_bytes(), tmp_path / "c", 3)
    exports = (
        db.execute(
            select(AuditEvent.resource).where(
                AuditEvent.action == "export", AuditEvent.channel == "cli"
            )
        )
        .scalars()
        .all()
    )
    db.commit()
    assert sorted(exports) == ["clinic_outcomes", "patient_report"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "patient", "999999", "--pdf", "x.pdf"], "no patient 999999"),
        (["report", "patient", "0", "--pdf", "x.pdf"], "no patient 0"),
        (["report", "clinic", "--from", "2024-02-30", "--pdf", "x.pdf"], "--from"),
        (["report", "clinic", "--to", "yesterday", "--pdf", "x.pdf"], "--to"),
        (["report", "clinic", "--from", "2025-02-01", "--to", "2025-01-01", "--pdf", "x.pdf"],
         "--to: must not be before --from"),
        (["report", "clinic", "--instrument", "xyz", "--pdf", "x.pdf"], "--instrument"),
    ],
)  # fmt: skip
def test_report_cli_bad_input_exits_2(
    cli_env: None, db: Session, tmp_path: Path, args: list[str], message: str
) -> None:
    make_clinic(db)
    db.commit()
    args = [str(tmp_path / a) if a == "x.pdf" else a for a in args]
    res = runner.invoke(cli, args)
    assert res.exit_code == 2, res.stdout
    assert message in res.stderr
    assert not (tmp_path / "x.pdf").exists()
