"""The patient PDF prints whole days and clinic-local times (issue 13 points 6 and 10); its
chart's time axis is tested in tests/test_charts.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.patients.models import Patient
from ketacare.features.reports.patient import patient_report
from ketacare.features.reports.pdf import clinic_pdf, patient_pdf
from ketacare.features.reports.service import clinic_outcomes
from ketacare.settings import Settings
from tests.reports.support import small_clinic


def pdf_text(body: bytes, tmp_path: Path) -> str:
    src = tmp_path / "r.pdf"
    src.write_bytes(body)
    out = subprocess.run(
        ["pdftotext", "-layout", str(src), "-"], capture_output=True, text=True, check=True
    )
    return out.stdout


def test_patient_pdf_days_are_whole_and_times_local(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    small_clinic(db, settings, n=6, seed=8)
    for patient in db.execute(select(Patient).order_by(Patient.id)).scalars():
        report = patient_report(db, patient)
        if report.outcome and report.outcome.response_day and report.sessions:
            break
    else:
        raise AssertionError("no responder in the generated clinic")
    first = next(s.when for s in report.sessions if s.when is not None)
    utc_text = patient_pdf(report, "Test Clinic", "UTC")
    ny_text = patient_pdf(report, "Test Clinic", "America/New_York")
    db.commit()
    utc, ny = pdf_text(utc_text, tmp_path), pdf_text(ny_text, tmp_path)
    assert re.search(r"day \d+\.\d", utc) is None, utc
    assert re.search(r"day \d+\b", utc)
    from ketacare.features._kit import clock

    assert clock.format_local(first, "UTC") in utc
    assert clock.format_local(first, "America/New_York") in ny
    assert clock.format_local(first, "UTC") not in ny
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", ny)


def test_clinic_pdf_keeps_words_whole_and_age_bands_in_order(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    clinic, _ = small_clinic(db, settings, n=40, seed=1)
    body = clinic_pdf(clinic_outcomes(db, clinic.id), "Test Clinic", "All", "America/New_York")
    db.commit()
    text = pdf_text(body, tmp_path)
    assert "iv-ketamine-induction" in text and "inducti\n" not in text
    assert "remis.\n" not in text and "patient\n" not in text
    bands = [b for b in ("<25", "25-34", "35-44", "45-54", "55-64", "65+") if b in text]
    assert len(bands) >= 3
    assert sorted(bands, key=text.index) == bands
    # No page ends with a heading: a heading line is followed by content on its page.
    for page in text.split("\f"):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        body_lines = [ln for ln in lines if not ln.startswith("ketacare · page")]
        if body_lines:
            assert not body_lines[-1].startswith(("By ", "Time to", "Definitions"))
