"""FHIR export of consents: golden JSON of Consent and DocumentReference resources (strict R4
and R4B parsing), and the clinic export includes them with every patient's hash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ketacare.fhir.consent import ConsentDocRecord, consent_resources
from ketacare.fhir.export import collection_bundle
from tests.fhir.fhir_support import UPDATE_GOLDEN, validate_both

GOLDEN = Path(__file__).resolve().parent / "golden" / "consent_bundle.json"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SHA = "ab" * 32


def sample() -> dict[str, Any]:
    docs = [
        ConsentDocRecord(1, 7, "esketamine", 1, "Consent to esketamine", "signed", T0, SHA, True,
                         awaiting_countersignature=True),
        ConsentDocRecord(2, 7, "esketamine", 1, "Consent to esketamine", "countersigned",
                         T0.replace(minute=5), "cd" * 32, False),
        ConsentDocRecord(3, 7, "telehealth-photo", 1, "Telehealth and photographs", "signed",
                         T0.replace(minute=7), "ef" * 32, True),
        ConsentDocRecord(4, 7, "telehealth-photo", 1, "Telehealth and photographs", "revoked",
                         T0.replace(hour=10), "01" * 32, False),
    ]  # fmt: skip
    return collection_bundle(
        "https://ketacare.example/fhir", consent_resources(docs), T0, "ketacare-consent-7"
    )


def test_consent_bundle_matches_golden_file_and_parses_strict() -> None:
    text = json.dumps(sample(), indent=2, ensure_ascii=False) + "\n"
    if UPDATE_GOLDEN:
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "set KETACARE_UPDATE_GOLDEN=1 to regenerate"
    validate_both(json.loads(text))


def test_statuses_follow_the_document_chain() -> None:
    bundle = sample()
    res = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    assert res["consent-doc-1"]["status"] == "superseded"
    assert res["consent-doc-2"]["status"] == "current"
    assert res["consent-2"]["status"] == "active"
    assert res["consent-4"]["status"] == "inactive"
    assert "consent-1" not in res and "consent-3" not in res
    assert res["consent-doc-2"]["identifier"][0]["value"] == "cd" * 32
    assert res["consent-2"]["sourceReference"] == {"reference": "DocumentReference/consent-doc-2"}
