"""The charting link (issue 18.4): a session is signed only when the controlled-substance
ledger agrees with its chart. Called once from the sessions sign path (``sessions/closing.py``).

The check applies to clinics that keep their controlled-substance records in ketacare (at
least one DEA registration recorded); other clinics sign as before.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as rules
from ketacare.domain.sessions.safety import Reason
from ketacare.features.controlled.models import CsContainer, CsDraw, CsEvent, CsRegistration
from ketacare.features.sessions.models import TreatmentSession


def session_ledger(db: Session, session_id: int) -> rules.SessionLedger:
    """What the ledger holds for a session: drawn, administered, open draws, device lots."""
    drawn, unsettled = db.execute(
        select(
            func.coalesce(func.sum(CsDraw.drawn_ug), 0),
            func.count().filter(CsDraw.settled.is_(False)),
        ).where(CsDraw.session_id == session_id, CsDraw.void.is_(False))
    ).one()
    administered = db.execute(
        select(func.coalesce(func.sum(CsDraw.administered_ug), 0)).where(
            CsDraw.session_id == session_id
        )
    ).scalar_one()
    devices = db.execute(
        select(CsContainer.lot, func.count(func.distinct(CsContainer.id)))
        .join(CsDraw, CsDraw.container_id == CsContainer.id)
        .where(
            CsDraw.session_id == session_id,
            CsDraw.administered_ug > 0,
            CsContainer.form == "device",
        )
        .group_by(CsContainer.lot)
    ).all()
    return rules.SessionLedger(
        drawn=int(drawn),
        administered=int(administered),
        unsettled_draws=int(unsettled),
        device_lots=tuple(sorted(lot for lot, _ in devices)),
        devices=sum(int(n) for _, n in devices),
    )


def uses_ledger(db: Session, clinic_id: int) -> bool:
    """Whether the clinic keeps controlled-substance records here (has a registration)."""
    found = db.execute(
        select(CsRegistration.id).where(CsRegistration.clinic_id == clinic_id).limit(1)
    ).first()
    return found is not None


def sign_reasons(db: Session, s: TreatmentSession) -> list[Reason]:
    """Why the ledger keeps ``s`` from being signed (empty: it agrees with the chart)."""
    if not uses_ledger(db, s.clinic_id):
        return []
    ledger = session_ledger(db, s.id)
    found = rules.session_sign_reasons(s.route, s.given_dose_mg, s.devices, s.lot, ledger)
    return [Reason(r.rule_id, r.text, r.source) for r in found]


def session_lots(db: Session, session_id: int) -> str:
    """The lots of the devices the ledger shows administered in a session (REMS form's lot)."""
    return ", ".join(session_ledger(db, session_id).device_lots)


__all__ = ["CsEvent", "session_ledger", "session_lots", "sign_reasons", "uses_ledger"]


def session_sign_check(
    db: Session,
    settings: object,  # noqa: ARG001
    s: TreatmentSession,
) -> tuple[str, list[Reason]]:
    """The registered ``session_sign`` hook: the field and why the ledger keeps ``s`` unsigned."""
    return "controlled_substances", sign_reasons(db, s)


def session_page_context(db: Session, session_id: int) -> dict[str, object]:
    """The registered ``session_page`` hook: the session's draws (what each still owes the
    ledger) and the open containers of its drug to draw from, for clinics that keep their
    records here. The session page's read is audited by the sessions feature."""
    s = db.get(TreatmentSession, session_id)
    if s is None or not uses_ledger(db, s.clinic_id):
        return {}
    draws = db.execute(
        select(CsDraw, CsContainer.label)
        .join(CsContainer, CsContainer.id == CsDraw.container_id)
        .where(CsDraw.session_id == session_id, CsDraw.void.is_(False))
        .order_by(CsDraw.id)
    ).all()
    drug = "esketamine" if s.route == "esketamine" else "ketamine"
    stock = db.execute(
        select(CsContainer)
        .where(
            CsContainer.clinic_id == s.clinic_id,
            CsContainer.status == "open",
            CsContainer.drug == drug,
            CsContainer.balance_ug > 0,
        )
        .order_by((CsContainer.balance_ug < CsContainer.full_ug).desc(), CsContainer.label)
        .limit(12)
    ).scalars()
    return {
        "cs_session": {
            "draws": [
                {
                    "id": d.id,
                    "container_id": d.container_id,
                    "label": label,
                    "drawn": rules.fmt_mg(d.drawn_ug),
                    "administered": rules.fmt_mg(d.administered_ug),
                    "wasted": rules.fmt_mg(d.wasted_ug),
                    "returned": rules.fmt_mg(d.returned_ug),
                    "outstanding": rules.fmt_mg(
                        d.drawn_ug - d.administered_ug - d.wasted_ug - d.returned_ug
                    ),
                    "settled": d.settled,
                }
                for d, label in draws
            ],
            "stock": [
                {
                    "id": c.id,
                    "label": c.label,
                    "balance": rules.fmt_mg(c.balance_ug),
                    "opened": c.balance_ug < c.full_ug,
                }
                for c in stock
            ],
        }
    }
