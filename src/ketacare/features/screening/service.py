"""Scoring and storing self-screenings and consultation requests (flush, never commit)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ketacare.db.base import utcnow
from ketacare.domain.mbc.screening import score_gad7, score_phq9
from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.clinics.models import Clinic
from ketacare.features.screening.models import Lead, LeadNote, LeadStatus, Screening

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+()\-. ]{6,40}$")
MAX_NOTE = 4000


def row_values(
    phq9: Sequence[int] | None,
    gad7: Sequence[int] | None,
    difficulty: int | None = None,
) -> dict[str, object]:
    """Score the answers and return the ``screening`` column values (without id and clinic).

    Raises ``InvalidAnswer`` naming the item.
    """
    values: dict[str, object] = {}
    if phq9 is not None:
        p = score_phq9(phq9, difficulty)
        values.update(
            phq9_answers=list(phq9),
            phq9_difficulty=difficulty,
            phq9_total=p.total,
            phq9_band=p.band,
            phq9_item9_positive=p.item9_positive,
            phq9_mds=p.major_depressive_syndrome,
        )
    if gad7 is not None:
        g = score_gad7(gad7)
        values.update(gad7_answers=list(gad7), gad7_total=g.total, gad7_band=g.band)
    return values


def new_screening_id() -> str:
    """A random, unguessable screening id (32 hex digits)."""
    return uuid.uuid4().hex


def store_screening(
    db: Session,
    clinic: Clinic,
    phq9: Sequence[int] | None,
    gad7: Sequence[int] | None,
    difficulty: int | None = None,
) -> tuple[Screening, bool]:
    """Score and store a screening in ``db``'s transaction (seeding and tests only).

    Requests never call this: the self-screen form and the API store through the writer
    (``submit.store``), where the rate limit and the idempotency look-up are.
    """
    values = row_values(phq9, gad7, difficulty)
    row = Screening(id=new_screening_id(), clinic=clinic, **values)
    db.add(row)
    db.flush()
    return row, True


def get_screening(db: Session, clinic_id: int, screening_id: str) -> Screening:
    """A screening of this clinic, or NotFound."""
    row = db.execute(
        select(Screening).where(Screening.id == screening_id, Screening.clinic_id == clinic_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such screening")
    return row


@dataclass(frozen=True, slots=True)
class LeadInput:
    """What a person gives when asking the clinic to call them."""

    name: str
    phone: str
    email: str
    preferred_time: str
    consent: bool


def lead_problems(data: LeadInput) -> dict[str, str]:
    """Field -> reason for each problem with a consultation request (empty when fine)."""
    problems: dict[str, str] = {}
    if not data.name.strip():
        problems["name"] = "Please tell us your name."
    elif len(data.name) > 200:
        problems["name"] = "Name must be at most 200 characters."
    phone, email = data.phone.strip(), data.email.strip()
    if not phone and not email:
        problems["contact"] = "Give a phone number or an email address so we can reach you."
    if phone and not PHONE_RE.match(phone):
        problems["phone"] = "Phone number may hold digits, spaces and + ( ) - . only."
    if email and (not EMAIL_RE.match(email) or len(email) > 320):
        problems["email"] = "Email address does not look right."
    if len(data.preferred_time) > 200:
        problems["preferred_time"] = "Preferred time must be at most 200 characters."
    if not data.consent:
        problems["consent"] = "Please confirm that the clinic may contact you."
    return problems


def create_lead(
    db: Session,
    clinic: Clinic,
    data: LeadInput,
    screening: Screening | None = None,
    idempotency_key: str | None = None,
) -> Lead:
    """Store a consultation request (refused with the first problem named).

    A repeated ``idempotency_key`` returns the request stored the first time.
    """
    problems = lead_problems(data)
    if problems:
        field, reason = next(iter(problems.items()))
        raise BadRequest(reason, field)
    if idempotency_key:
        earlier = db.execute(
            select(Lead).where(Lead.idempotency_key == idempotency_key, Lead.clinic_id == clinic.id)
        ).scalar_one_or_none()
        if earlier is not None:
            return earlier
    lead = Lead(
        idempotency_key=idempotency_key or None,
        clinic=clinic,
        screening=screening,
        name=data.name.strip(),
        phone=data.phone.strip(),
        email=data.email.strip(),
        preferred_time=data.preferred_time.strip(),
        consent=True,
    )
    db.add(lead)
    db.flush()
    return lead


def list_leads(db: Session, clinic_id: int, limit: int = 200) -> list[Lead]:
    """This clinic's newest consultation requests with their screenings."""
    stmt = (
        select(Lead)
        .options(joinedload(Lead.screening))
        .where(Lead.clinic_id == clinic_id)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(limit)
    )
    return list(db.execute(stmt).scalars())


def get_lead(db: Session, clinic_id: int, lead_id: int) -> Lead:
    """A consultation request of this clinic, or NotFound (also for other clinics')."""
    stmt = (
        select(Lead)
        .options(joinedload(Lead.screening))
        .where(Lead.id == lead_id, Lead.clinic_id == clinic_id)
    )
    lead = db.execute(stmt).scalar_one_or_none()
    if lead is None:
        raise NotFound("no such consultation request")
    return lead


def leads_for(db: Session, actor: Actor) -> list[Lead]:
    """The actor's clinic's newest requests; each is audited (it holds contact details)."""
    assert actor.user is not None
    leads = list_leads(db, actor.user.clinic_id)
    for lead in leads:
        record(db, actor, "list", "lead", lead.id)
    return leads


def open_lead(db: Session, actor: Actor, lead_id: int) -> Lead:
    """A request of the actor's clinic (NotFound otherwise), audited as a read."""
    assert actor.user is not None
    lead = get_lead(db, actor.user.clinic_id, lead_id)
    record(db, actor, "read", "lead", lead.id)
    return lead


def open_screening(db: Session, actor: Actor, screening_id: str) -> Screening:
    """A screening of the actor's clinic (NotFound otherwise), audited as a read."""
    assert actor.user is not None
    row = get_screening(db, actor.user.clinic_id, screening_id)
    record(db, actor, "read", "screening", row.id)
    return row


def set_lead_status(
    db: Session, actor: Actor, lead_id: int, status: str, note: str, now: datetime
) -> tuple[Lead, LeadNote]:
    """Set a request's status and append an entry to its contact history (author and time),
    audited as an update.

    Notes are never overwritten: each save adds a ``LeadNote`` row.
    """
    user = actor.user
    assert user is not None
    lead = get_lead(db, user.clinic_id, lead_id)
    try:
        new_status = LeadStatus(status)
    except ValueError:
        raise BadRequest("must be one of new, contacted, closed", "status") from None
    body = note.strip()
    if len(body) > MAX_NOTE:
        raise BadRequest(f"must be at most {MAX_NOTE} characters", "note")
    changed = new_status != lead.status
    lead.status = new_status
    entry = add_note(db, user, lead, body, new_status.value if changed else "", now)
    record(db, actor, "update", "lead", lead.id)
    return lead, entry


def add_note(
    db: Session,
    user: User | None,
    lead: Lead,
    body: str,
    status: str = "",
    now: datetime | None = None,
) -> LeadNote:
    """Append one entry to the lead's contact history."""
    entry = LeadNote(
        lead_id=lead.id,
        clinic_id=lead.clinic_id,
        author_id=user.id if user else None,
        author_email=user.email if user else "",
        status=status,
        body=body,
        created_at=now or utcnow(),
    )
    db.add(entry)
    db.flush()
    return entry


def lead_notes(db: Session, lead: Lead) -> list[LeadNote]:
    """The lead's contact history, oldest first."""
    stmt = (
        select(LeadNote)
        .where(LeadNote.lead_id == lead.id, LeadNote.clinic_id == lead.clinic_id)
        .order_by(LeadNote.created_at, LeadNote.id)
    )
    return list(db.execute(stmt).scalars())
