"""Controlled-substance use cases: registrations, receiving, the container ledger, witnesses.

Services take ``actor`` and ``now``, audit themselves and ``flush()`` (never commit). Every
ledger write locks the container row first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
transactions begin IMMEDIATE and so are serialised), checks the event with the pure rules of
``ketacare.domain.compliance.controlled`` and inserts it; the database triggers of migration
0014 then move the container's balance and check the same invariants again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as rules
from ketacare.domain.dates import out_of_range
from ketacare.domain.rules import Reason
from ketacare.features._kit.errors import BadRequest, Forbidden, NotFound
from ketacare.features.audit import service as audit
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.controlled.config import CsSettings
from ketacare.features.controlled.models import (
    CsContainer,
    CsDraw,
    CsEvent,
    CsReceipt,
    CsRegistration,
)
from ketacare.features.sessions.models import TreatmentSession

DEA_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{7}$")
NDC = re.compile(r"^[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}$")
DRUGS = ("ketamine", "esketamine")
FORMS = ("vial", "device")


class LedgerRefused(BadRequest):
    """The ledger refuses the event; ``reasons`` lists every rule it breaks (422)."""

    def __init__(self, reasons: list[Reason], field: str = "event") -> None:
        super().__init__("; ".join(r.text for r in reasons), field)
        self.reasons = reasons


def dea_number_valid(number: str) -> bool:
    """Format and check digit of a DEA registration number (two letters, seven digits).

    >>> dea_number_valid("AB1234563")
    True
    """
    if not DEA_NUMBER.match(number):
        return False
    d = [int(c) for c in number[2:]]
    total = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])
    return total % 10 == d[6]


def _dea(value: str, field: str) -> str:
    value = value.strip().upper()
    if not dea_number_valid(value):
        raise BadRequest("not a valid DEA number (two letters, seven digits, check digit)", field)
    return value


def check_date(value: date, field: str) -> date:
    """``value`` if within the one date range (``domain/dates.py``), else 422 naming ``field``."""
    reason = out_of_range(value)
    if reason:
        raise BadRequest(reason, field)
    return value


def _text(value: str, field: str, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise BadRequest("required", field)
    if len(value) > limit:
        raise BadRequest(f"at most {limit} characters", field)
    return value


def require_role(actor: Actor, settings: CsSettings, what: str) -> User:
    """The acting user, if their role may ``what`` (receive, administer, witness, manage)."""
    user = actor.user
    if user is None:
        raise Forbidden("a controlled-substance record needs a signed-in user")
    if user.role not in settings.roles(what):
        names = ", ".join(sorted(r.value for r in settings.roles(what)))
        raise Forbidden(f"only {names} may {what} controlled substances")
    return user


# --- witnesses ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Witness:
    """A second user who re-authenticated now (their password, checked by :func:`witness`)."""

    user: User
    at: datetime


def witness(
    db: Session, actor: Actor, settings: CsSettings, email: str, password: str, now: datetime
) -> Witness:
    """Re-authenticate a witness: another active staff member of the clinic, allowed to witness.

    Raises 422 naming ``witness_email`` / ``witness_password`` (never says which was wrong).
    """
    if not email.strip():
        raise BadRequest("a witness must sign (email and password)", "witness_email")
    outcome = accounts.authenticate(db, email, password)
    user = outcome.user
    if user is None or user.clinic_id != actor.clinic_id:
        raise BadRequest("the witness's email or password is wrong", "witness_password")
    if actor.user is not None and user.id == actor.user.id:
        raise BadRequest("the witness must be another person", "witness_email")
    if user.role not in settings.roles("witness"):
        raise BadRequest("this user's role may not witness", "witness_email")
    return Witness(user=user, at=now)


# --- registrations and receiving ---------------------------------------------------------------


def create_registration(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    *,
    site_name: str,
    dea_number: str,
    address: str,
    registrant: str,
    expires_on: date,
    schedules: str = "3,3N",
) -> CsRegistration:
    """Add a DEA registration of one site (21 CFR 1301.12)."""
    require_role(actor, settings, "manage")
    assert actor.clinic_id is not None
    number = _dea(dea_number, "dea_number")
    if db.execute(
        select(CsRegistration.id).where(
            CsRegistration.clinic_id == actor.clinic_id, CsRegistration.dea_number == number
        )
    ).first():
        raise BadRequest("this registration is already recorded", "dea_number")
    parts = [p.strip().upper() for p in schedules.split(",") if p.strip()]
    if not parts or any(p not in ("2", "2N", "3", "3N", "4", "5") for p in parts):
        raise BadRequest("schedules: a list among 2, 2N, 3, 3N, 4, 5", "schedules")
    if "3" not in parts:
        raise BadRequest("ketamine and esketamine need schedule 3", "schedules")
    reg = CsRegistration(
        clinic_id=actor.clinic_id,
        site_name=_text(site_name, "site_name", 200),
        dea_number=number,
        schedules=",".join(parts),
        address=_text(address, "address", 2000),
        registrant=_text(registrant, "registrant", 200),
        expires_on=check_date(expires_on, "expires_on"),
        created_at=now,
        created_by_email=actor.label,
    )
    db.add(reg)
    db.flush()
    audit.record(db, actor, "create", "cs_registration", reg.id)
    return reg


def registration(db: Session, clinic_id: int | None, registration_id: int) -> CsRegistration:
    """A registration of the clinic (else 404)."""
    reg = db.get(CsRegistration, registration_id)
    if reg is None or reg.clinic_id != clinic_id:
        raise NotFound("no such registration", "registration_id")
    return reg


@dataclass(frozen=True)
class ReceiptIn:
    """What a receipt record holds (21 CFR 1304.22(c); controlled-substances.md §2)."""

    registration_id: int
    invoice_number: str
    supplier_name: str
    supplier_address: str
    supplier_dea: str
    received_at: datetime
    ndc: str
    drug: str
    product: str
    form: str
    container_mg: str
    lot: str
    expiry: date
    containers: int
    concentration_mg_ml: float | None = None
    container_ml: float | None = None


def receive(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    data: ReceiptIn,
    witnessed_by: Witness | None = None,
) -> CsReceipt:
    """Record a receipt and one container (with a printable label) per vial or device."""
    user = require_role(actor, settings, "receive")
    reg = registration(db, actor.clinic_id, data.registration_id)
    if data.drug not in DRUGS:
        raise BadRequest("ketamine or esketamine", "drug")
    if data.form not in FORMS:
        raise BadRequest("vial or device", "form")
    if not 1 <= data.containers <= 1000:
        raise BadRequest("between 1 and 1000 containers", "containers")
    try:
        container_ug = rules.mg_to_ug(data.container_mg)
    except ValueError as exc:
        raise BadRequest(str(exc), "container_mg") from exc
    if container_ug <= 0:
        raise BadRequest("must be more than 0 mg", "container_mg")
    conc = data.concentration_mg_ml
    if data.form == "vial" and (conc is None or not 0 < conc <= 1000):
        raise BadRequest("a vial needs its concentration (mg/mL, 0-1000)", "concentration_mg_ml")
    ndc = data.ndc.strip()
    if not NDC.match(ndc):
        raise BadRequest("an NDC like 0409-2051-05", "ndc")
    if data.received_at > now:
        raise BadRequest("cannot be in the future", "received_at")
    check_date(data.received_at.date(), "received_at")
    receipt = CsReceipt(
        clinic_id=reg.clinic_id,
        registration_id=reg.id,
        invoice_number=_text(data.invoice_number, "invoice_number", 64),
        supplier_name=_text(data.supplier_name, "supplier_name", 200),
        supplier_address=_text(data.supplier_address, "supplier_address", 2000),
        supplier_dea=_dea(data.supplier_dea, "supplier_dea"),
        received_at=data.received_at,
        ndc=ndc,
        drug=data.drug,
        product=_text(data.product, "product", 200),
        form=data.form,
        concentration_mg_ml=conc,
        container_ug=container_ug,
        container_ml=data.container_ml
        if data.container_ml is not None
        else rules.ml(container_ug, conc),
        lot=_text(data.lot, "lot", 64),
        expiry=check_date(data.expiry, "expiry"),
        containers=data.containers,
        receiver_id=user.id,
        receiver_email=user.email,
        witness_id=witnessed_by.user.id if witnessed_by else None,
        witness_email=witnessed_by.user.email if witnessed_by else "",
        created_at=now,
    )
    db.add(receipt)
    db.flush()
    for n in range(1, data.containers + 1):
        c = CsContainer(
            clinic_id=reg.clinic_id,
            registration_id=reg.id,
            receipt_id=receipt.id,
            label=f"CS{receipt.id:06d}-{n:03d}",
            drug=receipt.drug,
            product=receipt.product,
            form=receipt.form,
            concentration_mg_ml=conc,
            lot=receipt.lot,
            expiry=receipt.expiry,
            full_ug=container_ug,
            balance_ug=0,
            status="open",
            seq=0,
            created_at=now,
        )
        db.add(c)
        db.flush()
        _insert(db, c, actor, now, "receive", container_ug, container_ug, occurred=data.received_at)
    audit.record(db, actor, "create", "cs_receipt", receipt.id)
    return receipt


# --- the ledger --------------------------------------------------------------------------------


def lock_container(db: Session, clinic_id: int | None, container_id: int) -> CsContainer:
    """The container of the clinic, its row locked for this transaction (else 404)."""
    stmt = (
        select(CsContainer)
        .where(CsContainer.id == container_id, CsContainer.clinic_id == clinic_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    c = db.execute(stmt).scalar_one_or_none()
    if c is None:
        raise NotFound("no such container", "container_id")
    return c


def container_by_label(db: Session, clinic_id: int | None, label: str) -> CsContainer:
    """The container with this label in the clinic (else 404)."""
    c = db.execute(
        select(CsContainer).where(
            CsContainer.label == label.strip().upper(), CsContainer.clinic_id == clinic_id
        )
    ).scalar_one_or_none()
    if c is None:
        raise NotFound("no such container", "container")
    return c


def _state(
    db: Session, c: CsContainer, draw_id: int | None, corrects: int | None
) -> rules.ContainerState:
    """The part of the container's state an event is checked against (draws, corrected event)."""
    draws: dict[int, rules.DrawState] = {}
    rows = db.execute(
        select(CsDraw).where(
            CsDraw.container_id == c.id,
            (CsDraw.settled.is_(False)) | (CsDraw.id == (draw_id or 0)),
        )
    ).scalars()
    for d in rows:
        if not d.void:
            draws[d.id] = rules.DrawState(d.drawn_ug, d.administered_ug, d.wasted_ug, d.returned_ug)
    events: dict[int, tuple[str, int, int | None, bool]] = {}
    if corrects is not None:
        old = db.get(CsEvent, corrects)
        if old is not None and old.container_id == c.id:
            done = db.execute(select(CsEvent.id).where(CsEvent.corrects_id == old.id)).first()
            corrected = bool(done) or old.kind == "correction"
            events[old.id] = (old.kind, old.qty_ug, old.draw_id, corrected)
            for key in (old.id if old.kind == "draw" else None, old.draw_id):
                row = db.get(CsDraw, key) if key is not None and key not in draws else None
                if row is not None and not row.void:
                    draws[row.id] = rules.DrawState(
                        row.drawn_ug, row.administered_ug, row.wasted_ug, row.returned_ug
                    )
    status = c.status if c.status in ("open", "quarantined", "closed") else "closed"
    return rules.ContainerState(
        balance_ug=c.balance_ug,
        status=status,  # type: ignore[arg-type]
        draws=MappingProxyType(draws),
        events=MappingProxyType(events),
    )


def _insert(
    db: Session,
    c: CsContainer,
    actor: Actor,
    now: datetime,
    kind: str,
    qty: int,
    delta: int,
    occurred: datetime | None = None,
    **extra: object,
) -> CsEvent:
    ev = CsEvent(
        clinic_id=c.clinic_id,
        registration_id=c.registration_id,
        container_id=c.id,
        seq=c.seq + 1,
        kind=kind,
        qty_ug=qty,
        delta_ug=delta,
        balance_ug=c.balance_ug + delta,
        by_id=actor.user_id,
        by_email=actor.label,
        occurred_at=occurred or now,
        recorded_at=now,
        **extra,
    )
    db.add(ev)
    db.flush()
    # The trigger moved the container's balance, sequence and status: read them again.
    db.refresh(c)
    return ev


def append(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    container_id: int,
    kind: str,
    qty_ug: int = 0,
    *,
    draw_id: int | None = None,
    corrects: int | None = None,
    session: TreatmentSession | None = None,
    witnessed_by: Witness | None = None,
    method: str = "",
    note: str = "",
    target_registration_id: int | None = None,
) -> CsEvent:
    """Append one ledger event to a container, under its row lock; 422 with the rules' reasons."""
    if kind in (
        "draw",
        "administer",
        "waste",
        "return",
        "breakage",
        "close",
        "expire",
        "correction",
    ):
        require_role(actor, settings, "administer")
    elif kind != "receive":
        require_role(actor, settings, "manage")
    c = lock_container(db, actor.clinic_id, container_id)
    state = _state(db, c, draw_id, corrects)
    if session is not None and session.clinic_id != c.clinic_id:
        raise NotFound("no such session", "session_id")
    policy = rules.Policy(waste_witness_required=settings.waste_witness_required)
    event = rules.Event(
        kind, qty_ug, draw_id=draw_id, corrects=corrects, witnessed=witnessed_by is not None
    )
    reasons = rules.check(state, event, policy)
    if kind == "transfer":
        if target_registration_id is None:
            reasons.append(Reason("CS-XFER", "name the receiving registration", ""))
        else:
            registration(db, actor.clinic_id, target_registration_id)
    if reasons:
        field = "qty_mg" if reasons[0].rule_id in ("CS-BAL", "CS-QTY") else kind
        raise LedgerRefused(reasons, field)
    if kind in rules.DRAW_KINDS and draw_id is not None:
        draw_row = db.get(CsDraw, draw_id)
        assert draw_row is not None
        session_id = draw_row.session_id
    else:
        session_id = session.id if session is not None else None
    patient_id = None
    if session_id is not None:
        s = session if session is not None else db.get(TreatmentSession, session_id)
        patient_id = s.patient_id if s is not None else None
    ev = _insert(
        db,
        c,
        actor,
        now,
        kind,
        qty_ug,
        rules.delta(state, event),
        draw_id=draw_id,
        corrects_id=corrects,
        session_id=session_id,
        patient_id=patient_id,
        target_registration_id=target_registration_id,
        method=_text(method, "method", 100, required=kind == "waste"),
        note=_text(note, "note", 4000, required=kind in ("breakage", "correction")),
        witness_id=witnessed_by.user.id if witnessed_by else None,
        witness_email=witnessed_by.user.email if witnessed_by else "",
        witnessed_at=witnessed_by.at if witnessed_by else None,
    )
    _move_draws(db, ev, state)
    if kind == "transfer" and target_registration_id is not None:
        _transfer_in(db, actor, now, c, target_registration_id, -ev.delta_ug)
    audit.record(db, actor, kind, "cs_event", ev.id, patient_id=patient_id)
    empty = c.status != "closed" and c.balance_ug == 0 and kind in ("draw", *rules.DRAW_KINDS)
    if (
        empty
        and not db.execute(
            select(CsDraw.id).where(CsDraw.container_id == c.id, CsDraw.settled.is_(False))
        ).first()
    ):
        _insert(db, c, actor, now, "close", 0, 0, note="empty; closed automatically")
    return ev


def _move_draws(db: Session, ev: CsEvent, state: rules.ContainerState) -> None:
    """Keep ``cs_draw`` (the running account of each draw) in step with the event."""
    if ev.kind == "draw":
        db.add(
            CsDraw(id=ev.id, container_id=ev.container_id, session_id=ev.session_id,
                   drawn_ug=ev.qty_ug, settled=False)
        )  # fmt: skip
    elif ev.kind in rules.DRAW_KINDS and ev.draw_id is not None:
        _adjust(db, ev.draw_id, ev.kind, ev.qty_ug)
    elif ev.kind == "correction" and ev.corrects_id is not None:
        old_kind, old_qty, old_draw, _ = state.events[ev.corrects_id]
        if old_kind == "draw":
            d = db.get(CsDraw, ev.corrects_id)
            assert d is not None
            d.drawn_ug, d.void, d.settled = 0, True, True
        elif old_kind in rules.DRAW_KINDS and old_draw is not None:
            _adjust(db, old_draw, old_kind, -old_qty)
    db.flush()


def _adjust(db: Session, draw_id: int, kind: str, qty: int) -> None:
    d = db.get(CsDraw, draw_id, populate_existing=True)
    assert d is not None
    if kind == "administer":
        d.administered_ug += qty
    elif kind == "waste":
        d.wasted_ug += qty
    else:
        d.returned_ug += qty
    d.settled = d.administered_ug + d.wasted_ug + d.returned_ug == d.drawn_ug


def _transfer_in(
    db: Session, actor: Actor, now: datetime, old: CsContainer, registration_id: int, qty: int
) -> CsContainer:
    c = CsContainer(
        clinic_id=old.clinic_id,
        registration_id=registration_id,
        receipt_id=old.receipt_id,
        label=f"{old.label}-T{old.seq}"[:32],
        drug=old.drug,
        product=old.product,
        form=old.form,
        concentration_mg_ml=old.concentration_mg_ml,
        lot=old.lot,
        expiry=old.expiry,
        full_ug=old.full_ug,
        balance_ug=0,
        status="open",
        seq=0,
        created_at=now,
    )
    db.add(c)
    db.flush()
    _insert(db, c, actor, now, "receive", qty, qty, note=f"transfer from {old.label}")
    return c


def events_of(db: Session, clinic_id: int | None, container_id: int) -> list[CsEvent]:
    """The container's ledger, in order."""
    c = db.get(CsContainer, container_id)
    if c is None or c.clinic_id != clinic_id:
        raise NotFound("no such container", "container_id")
    return list(
        db.execute(
            select(CsEvent).where(CsEvent.container_id == container_id).order_by(CsEvent.seq)
        ).scalars()
    )


__all__ = [
    "LedgerRefused",
    "ReceiptIn",
    "Role",
    "Witness",
    "append",
    "create_registration",
    "receive",
    "witness",
]
