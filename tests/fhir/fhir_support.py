"""Shared helpers for the FHIR tests: strict R4 (fhirclient) and R4B (fhir.resources) parsing."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models import fhirelementfactory

from ketacare.fhir.export import AssessmentRecord, DiagnosisRecord, PatientRecord
from ketacare.fhir.medication import AdverseEventRecord, DoseRecord, ScaleRecord, VitalRecord
from tests.cli_runner import run_cli
from tests.data_files import SYNTHEA

REPO = Path(__file__).resolve().parent.parent.parent

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("KETACARE_UPDATE_GOLDEN") == "1"
T0 = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def synthea_files() -> list[Path]:
    """The ten Synthea bundles (read in place, never copied)."""
    return sorted(SYNTHEA.glob("california__*.json"))


def strict_r4(resource: dict[str, Any]) -> None:
    """Parse with fhirclient's R4 (4.0.1) models in strict mode (raises on any error)."""
    fhirelementfactory.FHIRElementFactory.instantiate(resource["resourceType"], resource)


def strict_r4b(resource: dict[str, Any]) -> None:
    """Parse with fhir.resources R4B (pydantic validation)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def validate_both(resource: dict[str, Any]) -> None:
    """Both parsers accept the resource (and, for a Bundle, every entry)."""
    strict_r4(resource)
    strict_r4b(resource)
    for entry in resource.get("entry", []):
        strict_r4(entry["resource"])
        strict_r4b(entry["resource"])


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``ketacare`` command line in process (tests/cli_runner.py)."""
    return run_cli(env, *args)


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for the CLI on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env.update(
        KETACARE_DATABASE_URL=database_url,
        KETACARE_DATA_DIR=str(tmp_path),
        KETACARE_SECRET_KEY="test-secret-key-not-for-production",
        KETACARE_PUBLIC_CLINIC="public",
        KETACARE_PUBLIC_URL="https://clinic.example",
    )
    return env


def sample_patient() -> PatientRecord:
    """The golden sample patient."""
    return PatientRecord(
        id=7,
        given_name="Ada",
        family_name="Sample",
        birth_date=date(1980, 5, 17),
        sex="female",
        mrn="MRN-0007",
    )


def sample_assessments() -> list[AssessmentRecord]:
    """A PHQ-9 with items, a MADRS (no LOINC: ketacare code system) and an imported GAD-7 total."""
    return [
        AssessmentRecord(
            id=11,
            patient_id=7,
            instrument_id="phq9",
            instrument_version="1.0.0",
            answers={str(i): v for i, v in enumerate([2, 2, 1, 1, 2, 1, 1, 0, 1, 1], start=1)},
            total=11,
            band="moderate",
            completed_at=T0,
            recorded_at=T0,
            flags=("item9_positive",),
        ),
        AssessmentRecord(
            id=12,
            patient_id=7,
            instrument_id="madrs",
            instrument_version="1.0.0",
            answers={str(i): 2 for i in range(1, 11)},
            total=20,
            band="moderate",
            completed_at=T0,
            recorded_at=T0,
        ),
        AssessmentRecord(
            id=13,
            patient_id=7,
            instrument_id="gad7",
            instrument_version="1.0.0",
            answers={},
            total=12,
            band="moderate",
            completed_at=datetime(2024, 1, 8, 10, 0, tzinfo=UTC),
            recorded_at=T0,
            imported_total=True,
            flags=("imported_total", "positive_screen"),
        ),
    ]


def sample_diagnosis() -> DiagnosisRecord:
    """Major depressive disorder, SNOMED CT and ICD-10-CM."""
    return DiagnosisRecord(
        id=3,
        patient_id=7,
        text="Major depressive disorder, recurrent, severe",
        snomed_code="370143000",
        snomed_display="Major depressive disorder",
        icd10_code="F33.2",
        icd10_display="Major depressive disorder, recurrent severe without psychotic features",
        onset=date(2019, 2, 1),
        recorded_at=T0,
    )


def sample_sessions() -> tuple[list[DoseRecord], list[VitalRecord]]:
    """One IV ketamine and one esketamine session with vitals."""
    doses = [
        DoseRecord(
            session_id=21,
            patient_id=7,
            route="iv",
            product="Ketamine HCl 10 mg/mL",
            given_dose_mg=35.0,
            dose_start=T0,
            dose_end=datetime(2025, 3, 4, 10, 10, tzinfo=UTC),
            lot="L123",
        ),
        DoseRecord(
            session_id=22,
            patient_id=7,
            route="esketamine",
            product="Spravato",
            given_dose_mg=56.0,
            dose_start=datetime(2025, 3, 6, 9, 0, tzinfo=UTC),
            dose_end=datetime(2025, 3, 6, 9, 10, tzinfo=UTC),
        ),
    ]
    vitals = [
        VitalRecord(
            id=31,
            session_id=21,
            patient_id=7,
            at=T0,
            dosed=True,
            systolic=128,
            diastolic=82,
            heart_rate=74,
            spo2=98,
            resp_rate=14,
        ),
        VitalRecord(
            id=32,
            session_id=22,
            patient_id=7,
            at=datetime(2025, 3, 6, 9, 40, tzinfo=UTC),
            dosed=True,
            systolic=141,
            diastolic=None,
            heart_rate=80,
        ),
    ]
    return doses, vitals


def sample_scales() -> list[ScaleRecord]:
    """CADSS-6 and MOAA/S around the esketamine dose, a CADSS-23 after the IV infusion."""
    esk = datetime(2025, 3, 6, 8, 45, tzinfo=UTC)
    peak = datetime(2025, 3, 6, 9, 40, tzinfo=UTC)
    return [
        ScaleRecord(41, 22, 7, "cadss6", "pre_dose", esk, 0, dosed=True),
        ScaleRecord(42, 22, 7, "moaas", "pre_dose", esk, 5, dosed=True),
        ScaleRecord(43, 22, 7, "cadss6", "peak", peak, 7, dosed=True),
        ScaleRecord(44, 22, 7, "moaas", "peak", peak, 4, dosed=True),
        ScaleRecord(
            45,
            21,
            7,
            "cadss23",
            "discharge",
            datetime(2025, 3, 4, 11, 0, tzinfo=UTC),
            3,
            dosed=True,
        ),
    ]


def sample_adverse_events() -> list[AdverseEventRecord]:
    """Nausea after the esketamine dose, anxiety before it (drug not suspect) and a serious
    free-text event after the IV infusion."""
    esk_start = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)
    return [
        AdverseEventRecord(
            id=51,
            session_id=22,
            patient_id=7,
            term="anxiety",
            severity="mild",
            serious=False,
            onset_at=datetime(2025, 3, 6, 8, 50, tzinfo=UTC),
            recorded_at=datetime(2025, 3, 6, 8, 52, tzinfo=UTC),
            dose_start=esk_start,
            outcome="resolved",
        ),
        AdverseEventRecord(
            id=52,
            session_id=22,
            patient_id=7,
            term="nausea",
            severity="moderate",
            serious=False,
            onset_at=datetime(2025, 3, 6, 9, 35, tzinfo=UTC),
            recorded_at=datetime(2025, 3, 6, 9, 41, tzinfo=UTC),
            dose_start=esk_start,
            outcome="resolving",
        ),
        AdverseEventRecord(
            id=53,
            session_id=21,
            patient_id=7,
            term="other",
            other_text="Vasovagal syncope",
            severity="severe",
            serious=True,
            onset_at=datetime(2025, 3, 4, 10, 20, tzinfo=UTC),
            recorded_at=datetime(2025, 3, 4, 10, 30, tzinfo=UTC),
            dose_start=T0,
            outcome="transferred",
        ),
    ]


def load_json(path: Path) -> Any:
    """Decode a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))
