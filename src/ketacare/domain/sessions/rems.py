"""SPRAVATO REMS Patient Monitoring Form (PMF): versioned field list, completeness, deadline.

The field list follows the 11/2021 form and the current overview (clinical reference §5.2,
product reference §2.1). The exact wording and answer options of the sedation, dissociation,
respiratory-depression and adverse-event questions on the current form are not verified [U];
treat :data:`PMF_FIELDS` as configuration and re-check it before each release.

>>> deadline(date(2025, 3, 3))
datetime.date(2025, 3, 10)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ketacare.domain.sessions.safety import REMS, Reason

PMF_VERSION = "2021-11+resp"
DEADLINE_DAYS = 7  # "submit within 7 days" [V]; configurable
PMF_SOURCE = "SPRAVATO REMS Patient Monitoring Form 11/2021 and current overview (§5.2) [V]"
YES_NO = ("yes", "no")


@dataclass(frozen=True, slots=True)
class PmfField:
    """One field: id, label, kind (text, yes_no, int, date, bp, dose), and whether required."""

    id: str
    label: str
    kind: str = "text"
    required: bool = True
    derived: bool = False  # filled from the session record, not typed


PMF_FIELDS: tuple[PmfField, ...] = (
    PmfField("patient_first_name", "Patient first name", derived=True),
    PmfField("patient_last_name", "Patient last name", derived=True),
    PmfField("patient_birth_date", "Date of birth", "date", derived=True),
    PmfField("patient_sex", "Sex", derived=True),
    PmfField("first_treatment", "First treatment?", "yes_no"),
    PmfField("enrolled", "Patient enrolled in the REMS?", "yes_no"),
    PmfField("conmed_benzodiazepines", "Concomitant benzodiazepines", "yes_no"),
    PmfField("conmed_sedative_hypnotics", "Non-benzodiazepine sedative hypnotics", "yes_no"),
    PmfField("conmed_psychostimulants", "Psychostimulants", "yes_no"),
    PmfField("conmed_maois", "MAOIs", "yes_no"),
    PmfField("conmed_opioids", "Opioids (current form)", "yes_no"),
    PmfField("monitor_name", "Monitoring healthcare provider"),
    PmfField("monitor_phone", "Provider telephone"),
    PmfField("monitor_email", "Provider email", derived=True),
    PmfField("setting_name", "Healthcare setting name", derived=True),
    PmfField("setting_address", "Healthcare setting address"),
    PmfField("treatment_date", "Treatment date", "date", derived=True),
    PmfField("dose", "Dose administered (56 mg, 84 mg, other)", "dose", derived=True),
    PmfField("lot_number", "Lot number", derived=True),
    PmfField(
        "duration_min",
        "Total treatment duration, first device to end of monitoring (min)",
        "int",
        derived=True,
    ),
    PmfField(
        "ready_to_leave_min",
        "REMS evaluation question: minutes after the dose the patient "
        "would have been ready to leave without the 2-hour minimum",
        "int",
    ),
    PmfField("vitals_ok_before", "Vital signs acceptable before administration?", "yes_no"),
    PmfField("vitals_ok_end", "Vital signs acceptable before the end of the session?", "yes_no"),
    PmfField("bp_pre", "BP before administration", "bp", derived=True),
    PmfField("bp_40min", "BP about 40 min after administration", "bp", derived=True),
    PmfField("bp_end", "BP before the end of the session", "bp", derived=True),
    PmfField("sedation", "Sedation during the session? [U wording]", "yes_no", derived=True),
    PmfField(
        "dissociation", "Dissociation during the session? [U wording]", "yes_no", derived=True
    ),
    PmfField(
        "respiratory_depression", "Respiratory depression during the session? [U wording]", "yes_no"
    ),
    PmfField("adverse_events", "Serious adverse events? [U wording]", "yes_no", derived=True),
    PmfField("adverse_event_details", "Adverse event details", required=False, derived=True),
)
MANUAL_FIELDS = tuple(f.id for f in PMF_FIELDS if not f.derived)


def field_problem(f: PmfField, value: object) -> str | None:
    """Why ``value`` is not acceptable for ``f`` (None when fine or empty)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if f.kind == "yes_no" and text not in YES_NO:
        return "must be yes or no"
    if f.kind == "int":
        try:
            n = int(text)
        except ValueError:
            return "must be a whole number"
        if not 0 <= n <= 1440:
            return "must be from 0 to 1440"
    if f.kind == "date":
        try:
            date.fromisoformat(text)
        except ValueError:
            return "must be a date YYYY-MM-DD"
    if len(text) > 500:
        return "must be at most 500 characters"
    return None


def missing(values: Mapping[str, object], monitor_min: int = 120) -> list[Reason]:
    """Every required field that is empty or invalid, as reasons (rule ``rems.<field>``)."""
    out: list[Reason] = []
    for f in PMF_FIELDS:
        value = values.get(f.id)
        if f.id == "enrolled" and values.get("first_treatment") == "no" and value in (None, ""):
            continue  # asked only for a first treatment
        problem = field_problem(f, value)
        if problem:
            out.append(Reason(f"rems.{f.id}", f"{f.label}: {problem}.", PMF_SOURCE))
        elif f.required and (value is None or str(value).strip() == ""):
            out.append(Reason(f"rems.{f.id}", f"{f.label} is required.", PMF_SOURCE))
    if values.get("adverse_events") == "yes" and not str(values.get("adverse_event_details") or ""):
        out.append(Reason("rems.adverse_event_details", "Describe the adverse events.", PMF_SOURCE))
    duration = values.get("duration_min")
    if isinstance(duration, int) and duration < monitor_min:
        out.append(
            Reason(
                "rems.duration_min",
                f"Monitoring lasted {duration} min; the REMS requires at least {monitor_min}.",
                REMS,
            )
        )
    return out


def deadline(treatment_date: date, days: int = DEADLINE_DAYS) -> date:
    """The last day to submit the form (treatment date + ``days`` calendar days)."""
    return treatment_date + timedelta(days=days)


def status(due: date, submitted_at: datetime | None, today: date) -> str:
    """``submitted``, ``overdue`` (after the deadline day) or ``due``."""
    if submitted_at is not None:
        return "submitted"
    return "overdue" if today > due else "due"
