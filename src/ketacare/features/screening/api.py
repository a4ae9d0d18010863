"""JSON API: anonymous screenings and consultation requests; leads for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, NotFound, RateLimited
from ketacare.features._kit.params import RowId
from ketacare.features.auth.deps import ApiActor
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.ratelimit.service import counter_key, hit
from ketacare.features.screening import service
from ketacare.features.screening.models import Lead, Screening
from ketacare.features.screening.schemas import (
    LeadCreate,
    LeadOut,
    ScreeningCreate,
    ScreeningOut,
)
from ketacare.features.screening.submit import screening_json, submit
from ketacare.features.screening.writer import ScreeningWriter
from ketacare.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["screening"])


def screening_out(row: Screening) -> ScreeningOut:
    """API view of a stored screening."""
    values = {c.name: getattr(row, c.key) for c in Screening.__table__.c}
    return ScreeningOut.model_validate(screening_json(values))


def lead_out(lead: Lead) -> LeadOut:
    """API view of a consultation request."""
    return LeadOut(
        id=lead.id,
        name=lead.name,
        phone=lead.phone,
        email=lead.email,
        preferred_time=lead.preferred_time,
        status=lead.status.value,
        created_at=lead.created_at.isoformat(),
        screening=screening_out(lead.screening) if lead.screening else None,
    )


def check_public_rate(request: Request, db: DbDep, settings: Settings, purpose: str) -> None:
    """Limit anonymous submissions per client address (keyed by an HMAC, not the address)."""
    key = counter_key(settings.secret_key.get_secret_value(), purpose, client_ip(request))
    if not hit(db, key, settings.public_rate_limit, settings.public_rate_window_s):
        raise RateLimited()


@router.post(
    "/screenings",
    status_code=201,
    response_model=ScreeningOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ScreeningCreate.model_json_schema()}},
        }
    },
    responses={
        200: {"model": ScreeningOut, "description": "Stored earlier under this Idempotency-Key."},
        429: {"description": "Too many submissions from this address."},
        422: {"description": "Invalid answers; every problem names its field."},
        503: {"description": "The database is unavailable; nothing was stored."},
    },
)
async def create_screening(
    request: Request,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Score and store an anonymous PHQ-9 and/or GAD-7 self-screen.

    A 201 answer means the screening is committed to the database. Send an
    ``Idempotency-Key`` header (at most 128 characters) to make retries safe: the same key
    from the same client address returns the screening stored the first time (status 200)
    instead of storing it again. Keys are scoped to the client: the same key from another
    address stores a new screening and never returns the first one.
    In a running server this route is answered by the ASGI fast path
    (``features/screening/fastpath.py``) with the same code.
    """
    writer: ScreeningWriter = request.app.state.screening_writer
    status, body = await submit(
        settings, writer, await request.body(), idempotency_key, client_ip(request)
    )
    return Response(body, status_code=status, media_type="application/json")


@router.post("/leads", status_code=201)
def create_lead(
    body: LeadCreate,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, int]:
    """Ask the clinic to get in touch (optionally about a screening)."""
    check_public_rate(request, db, settings, "lead")
    clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
    screening = None
    if body.screening_id:
        try:
            screening = service.get_screening(db, clinic.id, body.screening_id)
        except NotFound:
            raise BadRequest("no such screening", "screening_id") from None
    data = service.LeadInput(body.name, body.phone, body.email, body.preferred_time, body.consent)
    lead = service.create_lead(db, clinic, data, screening, idempotency_key or None)
    return {"id": lead.id}


@router.get("/screenings/{screening_id}", response_model=ScreeningOut)
def read_screening(screening_id: str, actor: ApiActor, db: DbDep) -> ScreeningOut:
    """A screening of the caller's clinic (staff only)."""
    row = service.open_screening(db, actor, screening_id)
    return screening_out(row)


@router.get("/leads", response_model=list[LeadOut])
def read_leads(actor: ApiActor, db: DbDep) -> list[LeadOut]:
    """The caller's clinic's consultation requests, newest first (staff only)."""
    leads = service.leads_for(db, actor)  # one audit event each: they hold contact details
    return [lead_out(lead) for lead in leads]


@router.get("/leads/{lead_id}", response_model=LeadOut)
def read_lead(lead_id: RowId, actor: ApiActor, db: DbDep) -> LeadOut:
    """One consultation request of the caller's clinic (staff only)."""
    lead = service.open_lead(db, actor, lead_id)
    return lead_out(lead)
