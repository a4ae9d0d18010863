"""JSON API of consent under /api/v1 (docs/consent.md)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.deps import ApiActor
from ketacare.features.consent import service
from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["consent"])
_STRICT = ConfigDict(extra="forbid")


class TemplateIn(BaseModel):
    """A new version of a consent template."""

    model_config = _STRICT
    key: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    attestation: str = Field(service.ATTESTATION, min_length=1, max_length=500)
    routes: str = Field("", max_length=64, description="Comma list of iv, im, esketamine.")
    countersign: bool = False


class SignIn(BaseModel):
    """The patient's signature: template version, typed name, attestation, drawn signature."""

    model_config = _STRICT
    template_id: int = Field(ge=1, le=2_147_483_647)
    typed_name: str = Field(min_length=1, max_length=200)
    attested: bool
    signature_png_base64: str = Field(min_length=1, max_length=500_000)


class RevokeIn(BaseModel):
    """Why the patient withdraws consent."""

    model_config = _STRICT
    reason: str = Field(min_length=1, max_length=500)


def template_dict(t: ConsentTemplate) -> dict[str, Any]:
    """A template version as JSON."""
    return {
        "id": t.id,
        "key": t.key,
        "version": t.version,
        "title": t.title,
        "body": t.body,
        "attestation": t.attestation,
        "routes": [r for r in t.routes.split(",") if r],
        "countersign": t.countersign,
    }


def document_dict(d: ConsentDocument) -> dict[str, Any]:
    """A consent document's metadata as JSON (the PDF is a separate download)."""
    return {
        "id": d.id,
        "patient_id": d.patient_id,
        "template_id": d.template_id,
        "kind": d.kind,
        "supersedes_id": d.supersedes_id,
        "typed_name": d.patient_typed_name,
        "signer_name": d.signer_name,
        "signer_role": d.signer_role,
        "reason": d.reason,
        "pdf_sha256": d.pdf_sha256,
        "signed_at": d.signed_at.isoformat(),
    }


@router.get("/consent/templates")
def list_templates(actor: ApiActor, db: DbDep) -> list[dict[str, Any]]:
    """The newest version of each of the clinic's consent templates."""
    assert actor.clinic_id is not None
    return [template_dict(t) for t in service.latest_templates(db, actor.clinic_id)]


@router.post("/consent/templates", status_code=201)
def add_version(body: TemplateIn, actor: ApiActor, db: DbDep, now: NowDep) -> dict[str, Any]:
    """Add the next version of a template (admins); earlier signers are flagged to re-consent."""
    assert actor.clinic_id is not None
    data = service.TemplateInput(**body.model_dump())
    return template_dict(service.new_version(db, actor, actor.clinic_id, data, now))


@router.get("/consent/reconsent")
def reconsent(actor: ApiActor, db: DbDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Patients who must re-consent: an older template version or a changed protocol
    (audited list)."""
    rows = service.reconsent_list(db, actor, settings.consent_reconsent_on_protocol_change)
    return [
        {
            "patient_id": p,
            "patient_name": n,
            "key": k,
            "signed_version": v,
            "current_version": c,
            "why": why or "newer template version",
        }
        for p, n, k, v, c, why in rows
    ]


@router.get("/patients/{patient_id}/consents")
def patient_consents(
    patient: ApiPatient, actor: ApiActor, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    """The patient's state under each template and every consent document."""
    shown = service.patient_consents(
        db, actor, patient, settings.consent_reconsent_on_protocol_change
    )
    return {
        "states": [
            {
                "key": s.template.key,
                "current_version": s.template.version,
                "signed_version": s.document_version,
                "state": s.state,
                "why": s.why,
                "document_id": s.document.id if s.document else None,
            }
            for s in shown.states
        ],
        "documents": [document_dict(d) for d, _ in shown.documents],
    }


@router.post("/patients/{patient_id}/consents", status_code=201)
def sign(
    body: SignIn, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep, request: Request
) -> dict[str, Any]:
    """Store the patient's signed consent (PDF with the drawn signature; SHA-256 audited)."""
    try:
        png = base64.b64decode(body.signature_png_base64, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("must be base64", "signature_png_base64") from None
    template = service.get_template(db, patient.clinic_id, body.template_id)
    doc = service.sign(
        db, actor, patient, template, body.typed_name, body.attested, png, now, page_tz(request)
    )
    return document_dict(doc)


@router.post("/consent-documents/{document_id}/countersign", status_code=201)
def countersign(
    document_id: RowId, actor: ApiActor, db: DbDep, now: NowDep, request: Request
) -> dict[str, Any]:
    """Countersign a patient's signed consent (clinician, or nurse as witness)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    return document_dict(service.countersign(db, actor, doc, now, page_tz(request)))


@router.post("/consent-documents/{document_id}/revocation", status_code=201)
def revoke(
    document_id: RowId, body: RevokeIn, actor: ApiActor, db: DbDep, now: NowDep, request: Request
) -> dict[str, Any]:
    """Record the patient's withdrawal of consent (a new document)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    return document_dict(service.revoke(db, actor, doc, body.reason, now, page_tz(request)))


@router.get("/consent-documents/{document_id}/verify")
def verify(document_id: RowId, actor: ApiActor, db: DbDep) -> dict[str, Any]:
    """Whether the stored PDF still matches its recorded SHA-256 (audited)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    return {"id": doc.id, "pdf_sha256": doc.pdf_sha256, "verified": service.verify(db, actor, doc)}


@router.get("/consent-documents/{document_id}.pdf", response_class=Response)
def document_pdf(document_id: RowId, actor: ApiActor, db: DbDep) -> Response:
    """The signed document as PDF (every read audited)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    pdf = service.read_document(db, actor, doc)
    headers = {
        "Content-Disposition": f'attachment; filename="consent-{doc.id}.pdf"',
        "X-Content-SHA256": doc.pdf_sha256,
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
