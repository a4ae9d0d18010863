"""Payers and a patient's coverage (issue 20): the use cases behind the payer and coverage pages
and API. Writes: billing users and admins; reads: billing users, admins and clinicians. Every
read of a patient's coverage is audited with the patient; bad input is a 4xx naming the field
and writes nothing. Services take ``actor`` and ``now``, audit themselves and ``flush()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.dates import out_of_range
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError
from ketacare.features._kit.fields import text_field
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.policy import PAYER_WRITERS
from ketacare.features.billing import queries, x12
from ketacare.features.billing.models import Coverage, Payer
from ketacare.features.patients.models import Patient

#: Who may add or change payers and coverage (clinicians read them).
WRITERS = PAYER_WRITERS
RELATIONSHIPS = ("self", "spouse", "child", "other")
#: Codes whose modifiers a payer may set (the billing code table's codes; others are refused).
MODIFIER_CODES = ("G2082", "G2083", "S0013", "J0013", "J3490", "96365", "96366", "96374", "99213")


class Conflict(KetacareError):
    """The write collides with a stored record (a second payer of one name, ...)."""

    status_code = 409


def require_writer(actor: Actor) -> None:
    """Refuse (403) anyone but a billing user or an admin."""
    role = actor.user.role if actor.user is not None else None
    if role not in WRITERS:
        raise Forbidden("only a billing user or an admin may change payers and coverage")


def _text(value: str, name: str, limit: int, required: bool = False) -> str:
    return text_field(value, name, limit, required)


def _day(value: date | None, name: str) -> date | None:
    if value is not None and (problem := out_of_range(value)):
        raise BadRequest(problem, name)
    return value


# --- Payers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayerInput:
    """A payer and how it wants sessions coded (``domain.billing.codes.PayerPolicy``)."""

    name: str
    payer_id: str
    uses_g_codes: bool = True
    bills_drug_separately: bool = False
    drug_code_switch: date = date(2026, 1, 1)
    bundles_em: bool = True
    place_of_service: str = "11"
    modifiers: dict[str, list[str]] = field(default_factory=dict)


def _policy(data: PayerInput) -> dict[str, Any]:
    if not (len(data.place_of_service) == 2 and data.place_of_service.isdigit()):
        raise BadRequest("two digits, e.g. 11 (office)", "place_of_service")
    _day(data.drug_code_switch, "drug_code_switch")
    mods: dict[str, list[str]] = {}
    for code, values in data.modifiers.items():
        key = code.strip().upper()
        if key not in MODIFIER_CODES:
            raise BadRequest(f"{key or '(empty)'}: one of {', '.join(MODIFIER_CODES)}", "modifiers")
        clean = [m.strip().upper() for m in values if m.strip()]
        if len(clean) > 4 or any(len(m) != 2 or not m.isalnum() for m in clean):
            raise BadRequest(f"{key}: up to 4 two-character modifiers", "modifiers")
        if clean:
            mods[key] = clean
    return {
        "uses_g_codes": data.uses_g_codes,
        "bills_drug_separately": data.bills_drug_separately,
        "drug_code_switch": data.drug_code_switch.isoformat(),
        "bundles_em": data.bundles_em,
        "place_of_service": data.place_of_service,
        "modifiers": mods,
    }


def parse_modifiers(text: str) -> dict[str, list[str]]:
    """``"J0013=JZ; G2083=25,59"`` as a dict (422 naming ``modifiers`` when malformed)."""
    out: dict[str, list[str]] = {}
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        code, sep, mods = part.partition("=")
        if not sep or not code.strip():
            raise BadRequest("write CODE=MOD[,MOD]; separated by ';'", "modifiers")
        out[code.strip().upper()] = [m.strip() for m in mods.split(",")]
    return out


def modifiers_text(policy: dict[str, Any]) -> str:
    """The payer's modifiers as the form shows them."""
    mods: dict[str, list[str]] = policy.get("modifiers") or {}
    return "; ".join(f"{code}={','.join(values)}" for code, values in sorted(mods.items()))


def list_payers(db: Session, actor: Actor) -> list[Payer]:
    """The clinic's payers (no patient data; not audited)."""
    assert actor.clinic_id is not None
    return queries.payers(db, actor.clinic_id)


def save_payer(
    db: Session, actor: Actor, payer_id: int | None, data: PayerInput, now: datetime
) -> Payer:
    """Add a payer (``payer_id`` None) or change one of the actor's clinic (audited)."""
    require_writer(actor)
    assert actor.clinic_id is not None
    row = queries.payer(db, actor.clinic_id, payer_id) if payer_id is not None else None
    name = _text(data.name, "name", 60, required=True)
    clearinghouse_id = _text(data.payer_id, "payer_id", 80, required=True)
    if not all(c.isalnum() or c in " -." for c in clearinghouse_id):
        raise BadRequest("letters, digits, spaces, '-' and '.' only", "payer_id")
    policy = _policy(data)
    if row is None:
        row = Payer(clinic_id=actor.clinic_id, name=name, created_at=now)
    row.name, row.payer_id, row.policy = name, clearinghouse_id, policy
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("the clinic has a payer of this name already", "name") from None
    record(db, actor, "create" if payer_id is None else "update", "billing_payer", row.id)
    return row


def get_payer(db: Session, actor: Actor, payer_id: int) -> Payer:
    """One payer of the actor's clinic (404 otherwise)."""
    assert actor.clinic_id is not None
    return queries.payer(db, actor.clinic_id, payer_id)


# --- Coverage --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoverageInput:
    """A patient's insurance with one payer, as on the card."""

    payer_id: int
    member_id: str
    plan_name: str = ""
    group_number: str = ""
    subscriber_relationship: str = "self"
    subscriber_name: str = ""
    subscriber_birth_date: date | None = None
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    start_date: date | None = None
    end_date: date | None = None
    primary: bool = True


_FIELDS = (
    "member_id", "plan_name", "group_number", "subscriber_relationship", "subscriber_name",
    "subscriber_birth_date", "address", "city", "state", "postal_code", "start_date", "end_date",
    "primary",
)  # fmt: skip


def _apply(row: Coverage, data: CoverageInput) -> None:
    row.member_id = _text(data.member_id, "member_id", 80, required=True)
    row.plan_name = _text(data.plan_name, "plan_name", 80)
    row.group_number = _text(data.group_number, "group_number", 50)
    if data.subscriber_relationship not in RELATIONSHIPS:
        raise BadRequest(f"must be one of {', '.join(RELATIONSHIPS)}", "subscriber_relationship")
    row.subscriber_relationship = data.subscriber_relationship
    subscriber = _text(data.subscriber_name, "subscriber_name", 120)
    if data.subscriber_relationship != "self" and not subscriber:
        raise BadRequest("name the subscriber when the patient is not the subscriber",
                         "subscriber_name")  # fmt: skip
    row.subscriber_name = subscriber if data.subscriber_relationship != "self" else ""
    row.subscriber_birth_date = (
        _day(data.subscriber_birth_date, "subscriber_birth_date")
        if data.subscriber_relationship != "self"
        else None
    )
    row.address = _text(data.address, "address", 55)
    row.city = _text(data.city, "city", 30)
    state = _text(data.state, "state", 2).upper()
    if state and not (len(state) == 2 and state.isalpha()):
        raise BadRequest("two letters, e.g. NY", "state")
    row.state = state
    postal = _text(data.postal_code, "postal_code", 10)
    digits = x12.digits(postal)
    if postal and (len(digits) not in (5, 9) or len(digits) != len(postal.replace("-", ""))):
        raise BadRequest("5 or 9 digits (ZIP or ZIP+4)", "postal_code")
    row.postal_code = digits
    row.start_date = _day(data.start_date, "start_date")
    row.end_date = _day(data.end_date, "end_date")
    if row.start_date and row.end_date and row.end_date < row.start_date:
        raise BadRequest("must not be before the start date", "end_date")
    row.primary = data.primary


def patient_coverages(db: Session, actor: Actor, patient: Patient) -> list[Coverage]:
    """The patient's coverages, primary first (audited: coverage is patient data)."""
    record(db, actor, "read", "billing_coverage", "", patient.id)
    return queries.coverages(db, patient.id)


def save_coverage(
    db: Session,
    actor: Actor,
    patient: Patient,
    coverage_id: int | None,
    data: CoverageInput,
    now: datetime,
) -> Coverage:
    """Add a coverage (``coverage_id`` None) or change one of the patient's (audited; a
    second coverage with one payer is a 409 naming ``payer_id``; nothing is written on a
    refusal)."""
    require_writer(actor)
    queries.payer(db, patient.clinic_id, data.payer_id)
    if coverage_id is None:
        row = Coverage(clinic_id=patient.clinic_id, patient_id=patient.id, created_at=now)
    else:
        row = queries.coverage(db, patient.id, coverage_id)
    draft = Coverage()  # validated first: a refusal leaves the stored row untouched
    _apply(draft, data)
    row.payer_id = data.payer_id
    for name in _FIELDS:
        setattr(row, name, getattr(draft, name))
    if coverage_id is not None:
        row.updated_at = now
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
            if row.primary:
                for other in queries.coverages(db, patient.id):
                    if other.id != row.id and other.primary:
                        other.primary = False
                db.flush()
    except IntegrityError:
        raise Conflict("the patient already has coverage with this payer", "payer_id") from None
    action = "create" if coverage_id is None else "update"
    record(db, actor, action, "billing_coverage", row.id, patient.id)
    return row
