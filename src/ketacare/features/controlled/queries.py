"""Plain queries of controlled-substance records (clinic-scoped)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import NotFound
from ketacare.features.controlled.models import CsContainer, CsDraw, CsRegistration
from ketacare.features.sessions.models import TreatmentSession


def registrations(db: Session, clinic_id: int | None) -> list[CsRegistration]:
    """The clinic's registrations, by site."""
    stmt = select(CsRegistration).where(CsRegistration.clinic_id == clinic_id)
    return list(db.execute(stmt.order_by(CsRegistration.site_name)).scalars())


def containers(
    db: Session, clinic_id: int | None, include_closed: bool = False
) -> list[CsContainer]:
    """The clinic's containers (not closed, unless asked), by label."""
    stmt = select(CsContainer).where(CsContainer.clinic_id == clinic_id)
    if not include_closed:
        stmt = stmt.where(CsContainer.status != "closed")
    return list(db.execute(stmt.order_by(CsContainer.label)).scalars())


def receipt_containers(db: Session, receipt_id: int) -> list[CsContainer]:
    """The containers of one receipt, by label."""
    stmt = select(CsContainer).where(CsContainer.receipt_id == receipt_id)
    return list(db.execute(stmt.order_by(CsContainer.label)).scalars())


def session_of(
    db: Session, clinic_id: int | None, session_id: int | None
) -> TreatmentSession | None:
    """The treatment session of the clinic (None when not asked; 404 when not found)."""
    if session_id is None:
        return None
    s = db.get(TreatmentSession, session_id)
    if s is None or s.clinic_id != clinic_id:
        raise NotFound("no such session", "session_id")
    return s


def container(db: Session, clinic_id: int | None, container_id: int) -> CsContainer:
    """A container of the clinic (else 404)."""
    c = db.get(CsContainer, container_id)
    if c is None or c.clinic_id != clinic_id:
        raise NotFound("no such container", "container_id")
    return c


def open_draws(db: Session, container_id: int) -> list[CsDraw]:
    """The container's draws not yet fully administered, wasted or returned."""
    stmt = select(CsDraw).where(
        CsDraw.container_id == container_id, CsDraw.settled.is_(False), CsDraw.void.is_(False)
    )
    return list(db.execute(stmt.order_by(CsDraw.id)).scalars())
