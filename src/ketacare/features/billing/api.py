"""Billing JSON API (bearer tokens of billing users, clinicians and admins; writes: billing
users and clinicians). Every read of patient data is audited by the loaders or services."""

from __future__ import annotations

from fastapi import APIRouter

from ketacare.features._kit import clock
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import RowId
from ketacare.features.billing import claims, coverage, service, views
from ketacare.features.billing.access import (
    ApiBillingActor,
    ApiPayerWriter,
    ApiWritablePayer,
    BillingApiPatient,
    BillingApiSession,
)
from ketacare.features.billing.models import Coverage, Payer
from ketacare.features.billing.schemas import (
    ClaimIn,
    ClaimOut,
    ConfirmIn,
    CoverageIn,
    CoverageOut,
    LedgerIn,
    LedgerOut,
    PatientBillingOut,
    PayerIn,
    PayerOut,
    PriorAuthIn,
    PriorAuthOut,
    SessionBillingOut,
)

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])


@router.get("/sessions/{session_id}", response_model=SessionBillingOut)
def session_codes(
    s: BillingApiSession, actor: ApiBillingActor, db: DbDep, settings: SettingsDep
) -> SessionBillingOut:
    """Suggested codes of a session, each with its reasons, and the lines confirmed."""
    return views.session_view(db, actor, s, views.tz_of(actor, settings))


@router.post("/sessions/{session_id}/confirm", response_model=SessionBillingOut)
def confirm_codes(
    body: ConfirmIn,
    s: BillingApiSession,
    actor: ApiBillingActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> SessionBillingOut:
    """Confirm suggested codes of a signed session (409 if not signed)."""
    tz = views.tz_of(actor, settings)
    service.confirm(db, actor, s, body.codes, now, tz)
    return views.session_view(db, actor, s, tz)


@router.get("/patients/{patient_id}", response_model=PatientBillingOut)
def patient_billing(
    patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep,
) -> PatientBillingOut:  # fmt: skip
    """A patient's confirmed lines, prior authorisations (units used, alerts) and ledger."""
    tz = views.tz_of(actor, settings)
    today = clock.local_date(now, tz) or now.date()
    return views.patient_view(db, patient, today, tz)


@router.post("/patients/{patient_id}/prior-auths", response_model=PriorAuthOut, status_code=201)
def add_prior_auth(
    body: PriorAuthIn, patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep,
    settings: SettingsDep, now: NowDep,
) -> PriorAuthOut:  # fmt: skip
    """Record a prior authorisation (request, approval, denial ...)."""
    data = service.AuthInput(**body.model_dump())
    auth = service.add_prior_auth(db, actor, patient, data, now)
    tz = views.tz_of(actor, settings)
    today = clock.local_date(now, tz) or now.date()
    return next(a for a in views.prior_auth_views(db, patient, today, tz) if a.id == auth.id)


@router.post("/patients/{patient_id}/ledger", response_model=LedgerOut, status_code=201)
def add_ledger_entry(
    body: LedgerIn, patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep
) -> LedgerOut:
    """A charge, payment or adjustment on the patient's account."""
    entry = service.add_ledger_entry(
        db, actor, patient, body.kind, body.amount_cents, body.on_date, body.memo
    )
    return views.ledger_out(entry)


@router.post("/patients/{patient_id}/claims", response_model=ClaimOut, status_code=201)
def make_claim(
    body: ClaimIn, patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep, now: NowDep
) -> ClaimOut:
    """An 837P 5010 claim of the confirmed, unclaimed lines for a payer (delivered to the
    clearinghouse adapter by the periodic job)."""
    claim = claims.make_claim(db, actor, patient, body.payer_id, body.diagnoses, now)
    return ClaimOut.model_validate(claim, from_attributes=True)


# --- Payers and coverage (issue 20) -----------------------------------------------------------


def _payer_out(p: Payer) -> PayerOut:
    return PayerOut(id=p.id, name=p.name, payer_id=p.payer_id, policy=dict(p.policy or {}))


def _coverage_out(c: Coverage) -> CoverageOut:
    return CoverageOut.model_validate(
        {name: getattr(c, name) for name in (*CoverageIn.model_fields, "id", "patient_id")}
    )


@router.get("/payers", response_model=list[PayerOut])
def list_payers(actor: ApiBillingActor, db: DbDep) -> list[PayerOut]:
    """The clinic's payers."""
    return [_payer_out(p) for p in coverage.list_payers(db, actor)]


@router.post("/payers", response_model=PayerOut, status_code=201)
def add_payer(body: PayerIn, actor: ApiPayerWriter, db: DbDep, now: NowDep) -> PayerOut:
    """Add a payer (billing users and admins; 409 for a second payer of one name)."""
    data = coverage.PayerInput(**body.model_dump())
    return _payer_out(coverage.save_payer(db, actor, None, data, now))


@router.put("/payers/{payer_id}", response_model=PayerOut)
def edit_payer(
    body: PayerIn, payer: ApiWritablePayer, actor: ApiPayerWriter, db: DbDep, now: NowDep
) -> PayerOut:
    """Change a payer (billing users and admins)."""
    data = coverage.PayerInput(**body.model_dump())
    return _payer_out(coverage.save_payer(db, actor, payer.id, data, now))


@router.get("/patients/{patient_id}/coverages", response_model=list[CoverageOut])
def list_coverages(
    patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep
) -> list[CoverageOut]:
    """The patient's coverages, primary first (audited read)."""
    return [_coverage_out(c) for c in coverage.patient_coverages(db, actor, patient)]


@router.post("/patients/{patient_id}/coverages", response_model=CoverageOut, status_code=201)
def add_coverage(
    body: CoverageIn, patient: BillingApiPatient, actor: ApiBillingActor, db: DbDep, now: NowDep
) -> CoverageOut:
    """Record the patient's insurance with a payer (billing users and admins)."""
    data = coverage.CoverageInput(**body.model_dump())
    return _coverage_out(coverage.save_coverage(db, actor, patient, None, data, now))


@router.put("/patients/{patient_id}/coverages/{coverage_id}", response_model=CoverageOut)
def edit_coverage(
    body: CoverageIn, coverage_id: RowId, patient: BillingApiPatient, actor: ApiBillingActor,
    db: DbDep, now: NowDep,
) -> CoverageOut:  # fmt: skip
    """Change one of the patient's coverages (billing users and admins)."""
    data = coverage.CoverageInput(**body.model_dump())
    return _coverage_out(coverage.save_coverage(db, actor, patient, coverage_id, data, now))
