"""FHIR R4 ``Consent`` and ``DocumentReference`` of signed consent documents (no I/O).

Each stored document (signed, countersigned, revoked) is a DocumentReference to its PDF, with
the PDF's SHA-256 as an identifier (R4's ``Attachment.hash`` is SHA-1, so it is not used);
the newest document of each consent is a Consent: ``active`` when valid, ``proposed`` while it
awaits its countersignature, ``inactive`` once revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ketacare.fhir.export import instant, patient_ref, ref

SHA256_SYSTEM = "urn:ketacare:consent-document:sha256"
TEMPLATE_SYSTEM = "urn:ketacare:consent-template"
LOINC_CONSENT = {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}


@dataclass(frozen=True, slots=True)
class ConsentDocRecord:
    """One stored consent document as the mapping needs it."""

    id: int
    patient_id: int
    template_key: str
    template_version: int
    title: str
    kind: str  # signed, countersigned, revoked
    signed_at: datetime
    sha256: str
    superseded: bool
    awaiting_countersignature: bool = False


def document_id(doc_id: int) -> str:
    """The DocumentReference id of a consent document."""
    return f"consent-doc-{doc_id}"


def document_reference(d: ConsentDocRecord) -> dict[str, Any]:
    """R4 DocumentReference of the stored PDF."""
    return {
        "resourceType": "DocumentReference",
        "id": document_id(d.id),
        "identifier": [{"system": SHA256_SYSTEM, "value": d.sha256}],
        "status": "superseded" if d.superseded else "current",
        "docStatus": "final",
        "type": {"coding": [LOINC_CONSENT], "text": d.title},
        "category": [{"text": f"consent {d.kind}"}],
        "subject": patient_ref(d.patient_id),
        "date": instant(d.signed_at),
        "description": f"{d.title} (template {d.template_key} v{d.template_version}), {d.kind}",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": f"api/v1/consent-documents/{d.id}.pdf",
                    "title": f"consent-{d.id}.pdf",
                    "creation": instant(d.signed_at),
                }
            }
        ],
    }


def consent_resource(d: ConsentDocRecord) -> dict[str, Any]:
    """R4 Consent for the newest document of a consent (treatment scope, opt-in)."""
    if d.kind == "revoked":
        status = "inactive"
    elif d.awaiting_countersignature:
        status = "proposed"
    else:
        status = "active"
    return {
        "resourceType": "Consent",
        "id": f"consent-{d.id}",
        "identifier": [
            {"system": TEMPLATE_SYSTEM, "value": f"{d.template_key}|{d.template_version}"}
        ],
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "treatment",
                }
            ]
        },
        "category": [{"coding": [LOINC_CONSENT]}],
        "patient": patient_ref(d.patient_id),
        "dateTime": instant(d.signed_at),
        "sourceReference": ref("DocumentReference", document_id(d.id)),
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
    }


def consent_resources(docs: list[ConsentDocRecord]) -> list[dict[str, Any]]:
    """Every document's DocumentReference, then a Consent per newest (not superseded) one."""
    out = [document_reference(d) for d in docs]
    out += [consent_resource(d) for d in docs if not d.superseded]
    return out
