"""The letter to a patient's referring clinician: letterhead, identity, course summary, latest
scores with their bands, signed by the clinician who prints it (issue 21.8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from ketacare.domain.instruments import get_instrument
from ketacare.features._kit.errors import BadRequest
from ketacare.features.admin import queries
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.clinics.service import clinic_by_id
from ketacare.features.patients.models import Patient
from ketacare.features.reports.patient import PatientReport, patient_report

MAX_RECIPIENT = 300


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """The latest score of one instrument, with its band and the change from the first."""

    instrument: str
    total: int
    band: str
    severe: bool
    completed_at: datetime
    first: int | None

    @property
    def change(self) -> int | None:
        """Points from the first score of the instrument (negative: fewer points); None when
        this is the only score."""
        return None if self.first is None else self.total - self.first


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything the letter shows."""

    clinic: Clinic
    patient: Patient
    report: PatientReport
    scores: tuple[ScoreLine, ...]
    recipient: str
    signer: str
    signer_role: str
    written_at: datetime

    @property
    def age(self) -> int | None:
        """The patient's age in whole years on the letter's date."""
        born = self.patient.birth_date
        if born is None:
            return None
        today: date = self.written_at.date()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def doses_given(self) -> int:
        """Charted sessions in which a dose was given."""
        return sum(1 for s in self.report.sessions if s.given_dose_mg)


def _band(instrument_id: str, band_set: str | None, code: str | None) -> tuple[str, bool]:
    inst = get_instrument(instrument_id)
    sets = inst.band_sets
    bands = sets[band_set].bands if band_set is not None and band_set in sets else inst.bands
    for band in bands:
        if band.code == code:
            return band.label, band.severe
    return code or "", False


def referral_letter(
    db: Session, actor: Actor, patient: Patient, recipient: str, now: datetime
) -> Letter:
    """The letter about ``patient`` (opened in the actor's clinic), audited as an export."""
    assert actor.user is not None
    recipient = recipient.strip()
    if len(recipient) > MAX_RECIPIENT:
        raise BadRequest(f"must be at most {MAX_RECIPIENT} characters", "to")
    latest = queries.latest_scores(db, patient.id)
    firsts = queries.first_scores(db, patient.id, [a.instrument_id for a in latest])
    lines = []
    for a in latest:
        label, severe = _band(a.instrument_id, a.band_set, a.band)
        earliest = firsts.get(a.instrument_id)
        # None when the latest score is the only one: there is no change to report.
        first = earliest[1] if earliest is not None and earliest[0] != a.id else None
        lines.append(
            ScoreLine(
                get_instrument(a.instrument_id).short_name,
                int(a.total or 0),
                label,
                severe,
                a.completed_at,
                first,
            )
        )
    letter = Letter(
        clinic=clinic_by_id(db, patient.clinic_id),
        patient=patient,
        report=patient_report(db, patient),
        scores=tuple(lines),
        recipient=recipient,
        signer=actor.user.display_name or actor.user.email,
        signer_role=actor.user.role.value,
        written_at=now,
    )
    record(db, actor, "export", "referral_letter", patient.id, patient.id)
    return letter
