"""The FHIR API's own resources: CapabilityStatement and OperationOutcome."""

from __future__ import annotations

from typing import Any

from ketacare.fhir.codes import FHIR_VERSION

#: Date of the CapabilityStatement (changes only when the supported API changes).
CAPABILITY_DATE = "2026-12-06"
FHIR_JSON = "application/fhir+json"

_PATIENT = "The patient (Patient/<id> or <id>); repeated or with subject: ANDed"
_SUBJECT = "The patient as Patient/<id> (also subject:Patient=<id>); the same as patient"
_SEARCH: dict[str, list[tuple[str, str, str]]] = {
    "Observation": [
        ("patient", "reference", _PATIENT),
        ("subject", "reference", _SUBJECT),
        ("code", "token", "LOINC or ketacare code, [system|]code, comma-separated"),
        ("date", "date", "effective date with eq, lt, le, gt, ge prefixes; repeatable (ANDed)"),
        ("_id", "token", "Resource ids (score-<n>, vs-<n>-<kind>, scale-<n>), comma = OR"),
    ],
    "QuestionnaireResponse": [
        ("patient", "reference", _PATIENT),
        ("subject", "reference", _SUBJECT),
        ("_lastUpdated", "date", "When ketacare stored it, with prefixes; repeatable"),
        ("_id", "token", "Resource ids (qr-<n>), comma = OR"),
    ],
}
#: What every search answers besides its parameters (CapabilityStatement documentation).
SEARCH_RULES = (
    "Paged: _count (1-1000, default 100) and _offset; a 'next' link while more results "
    "remain, Bundle.total only when one page holds every match. Unknown parameters "
    "(_include, _sort, category, ...) follow 'Prefer: handling': strict (the default) answers "
    "400 with an OperationOutcome naming the parameter; lenient ignores them and lists them "
    "in an OperationOutcome entry (search mode 'outcome'). _format: json only."
)
_INTERACTIONS: dict[str, list[str]] = {
    "Patient": ["read"],
    "Observation": ["search-type"],
    "QuestionnaireResponse": ["search-type", "create"],
    "Questionnaire": ["read"],
}


def capability_statement(base_url: str, version: str) -> dict[str, Any]:
    """R4 CapabilityStatement listing what ketacare's /fhir API supports."""
    resources = []
    for rtype, interactions in _INTERACTIONS.items():
        res: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": code} for code in interactions],
        }
        if rtype in _SEARCH:
            res["searchParam"] = [
                {"name": n, "type": t, "documentation": d} for n, t, d in _SEARCH[rtype]
            ]
        resources.append(res)
    return {
        "resourceType": "CapabilityStatement",
        "id": "ketacare",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "ketacare",
        "kind": "instance",
        "software": {"name": "ketacare", "version": version},
        "implementation": {"description": "ketacare FHIR API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": SEARCH_RULES,
                "security": {
                    "description": "Send a personal API token of a staff account as "
                    "'Authorization: Bearer <token>'; results are limited to the token "
                    "owner's clinic."
                },
                "resource": resources,
            }
        ],
    }


_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}


def operation_outcome(status: int, diagnostics: str, expression: str = "") -> dict[str, Any]:
    """R4 OperationOutcome for an HTTP error ``status``."""
    issue: dict[str, Any] = {
        "severity": "error",
        "code": _ISSUE_CODES.get(status, "invalid" if status < 500 else "exception"),
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}
