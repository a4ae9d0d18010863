"""Making 837P claims from confirmed lines, and delivering them to the clearinghouse adapter.

A claim is stored (with its text) in the request's transaction; delivery to the adapter is a
separate step (``deliver_pending``: the periodic job or ``ketacare billing deliver``), so no
file exists for a claim whose transaction was rolled back."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import queries, x12
from ketacare.features.billing.adapters import Clearinghouse
from ketacare.features.billing.models import BillingLine, Claim, Coverage
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession

log = logging.getLogger(__name__)


def claimable_lines(db: Session, patient_id: int, payer_id: int) -> list[BillingLine]:
    """Confirmed, current, unclaimed lines of the patient for this payer."""
    stmt = (
        select(BillingLine, TreatmentSession.version)
        .join(TreatmentSession, TreatmentSession.id == BillingLine.session_id)
        .where(
            BillingLine.patient_id == patient_id,
            BillingLine.payer_id == payer_id,
            BillingLine.voided_at.is_(None),
            BillingLine.claim_id.is_(None),
        )
        .order_by(BillingLine.service_date, BillingLine.id)
    )
    return [line for line, version in db.execute(stmt) if line.session_version == version]


def make_claim(
    db: Session,
    actor: Actor,
    patient: Patient,
    payer_id: int,
    diagnoses: list[str],
    now: datetime,
    test: bool = False,
) -> Claim:
    """An 837P claim of every claimable line of ``patient`` for ``payer_id`` (audited export)."""
    payer = queries.payer(db, patient.clinic_id, payer_id)
    coverage = db.execute(
        select(Coverage).where(Coverage.patient_id == patient.id, Coverage.payer_id == payer.id)
    ).scalar_one_or_none()
    if coverage is None:
        raise BadRequest("the patient has no coverage with this payer", "payer_id")
    if coverage.subscriber_relationship != "self":
        # The 837P here writes the patient as the subscriber (no 2000C patient loop yet).
        raise BadRequest(
            "claims where the patient is not the subscriber are not supported yet",
            "subscriber_relationship",
        )
    profile = queries.profile(db, patient.clinic_id)
    if profile is None:
        raise BadRequest("set the clinic's billing profile first (NPI, tax id)", "npi")
    lines = claimable_lines(db, patient.id, payer.id)
    if not lines:
        raise BadRequest("no confirmed, unclaimed lines for this payer", "payer_id")
    control = queries.next_control_number(db, patient.clinic_id)
    data = x12.ClaimData(
        provider=x12.Provider(
            profile.billing_name, profile.npi, profile.tax_id, profile.address, profile.city,
            profile.state, profile.postal_code, profile.phone, profile.submitter_id,
            profile.receiver_id, profile.receiver_name, profile.taxonomy,
        ),
        subscriber=x12.Subscriber(
            patient.family_name, patient.given_name, coverage.member_id, patient.birth_date,
            patient.sex.value, coverage.address, coverage.city, coverage.state,
            coverage.postal_code, coverage.group_number,
        ),
        payer_name=payer.name,
        payer_id=payer.payer_id,
        patient_account=f"KC{patient.id}",
        diagnoses=tuple(d.strip() for d in diagnoses if d.strip()),
        lines=tuple(
            x12.ServiceLine(
                line.code, tuple(m for m in line.modifiers.split(",") if m), line.units,
                line.charge_cents, line.service_date, line.place_of_service,
            )
            for line in lines
        ),
    )  # fmt: skip
    try:
        content = x12.build_837p(data, control, now, test=test)
    except x12.ClaimError as exc:
        raise BadRequest(exc.reason, exc.field) from exc
    claim = Claim(
        clinic_id=patient.clinic_id, patient_id=patient.id, payer_id=payer.id,
        control_number=control, total_cents=sum(x.charge_cents for x in lines),
        content=content, created_by_id=actor.user_id, created_at=now,
    )  # fmt: skip
    db.add(claim)
    db.flush()
    for line in lines:
        line.claim_id = claim.id
    db.flush()
    record(db, actor, "export", "billing_claim", claim.id, patient.id)
    return claim


def file_name(claim: Claim) -> str:
    """The claim's file name in the drop folder."""
    return f"claim-{claim.clinic_id}-{claim.control_number:09d}.837"


def deliver_pending(db: Session, adapter: Clearinghouse, actor: Actor) -> int:
    """Deliver every claim not yet delivered; returns how many (the caller commits)."""
    pending = db.scalars(select(Claim).where(Claim.delivered_to == "").order_by(Claim.id))
    count = 0
    for claim in pending:
        claim.delivered_to = adapter.deliver(file_name(claim), claim.content)[:300]
        record(db, actor, "disclose", "billing_claim", claim.id, claim.patient_id)
        count += 1
    db.flush()
    return count
