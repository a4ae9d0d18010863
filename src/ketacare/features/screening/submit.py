"""The anonymous screening submission: one storage path for the API and the self-screen form.

The documented FastAPI route and the ASGI fast path (``fastpath.py``) call :func:`submit`;
the self-screen form (``pages.py``) validates its fields and calls :func:`store`. Both reach
the one group-commit writer, so rate limiting and idempotency live in one place, and no
request transaction holds the screening rate-limit row while waiting for the event loop.

Idempotency keys are scoped to the client (issue 15.19): what is stored is an HMAC of the
client address and the key under the secret key, so a key replayed from another address
stores a new screening instead of returning another person's result.

The fast path exists because this is the public endpoint that takes traffic
spikes (a clinic's campaign link): skipping the framework's routing and dependency
resolution roughly halves its CPU cost per request (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ketacare.features._kit.errors import validation_details
from ketacare.features.ratelimit.service import counter_key
from ketacare.features.screening import service
from ketacare.features.screening.schemas import ScreeningCreate
from ketacare.features.screening.writer import Outcome, ScreeningWriter, WriterUnavailable
from ketacare.settings import Settings

MAX_KEY = 128


def _error(status: int, field: str, reason: str) -> tuple[int, bytes]:
    return status, json.dumps({"detail": [{"field": field, "reason": reason}]}).encode()


def screening_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """API view (``ScreeningOut``) of a screening's column values."""
    phq9 = gad7 = None
    if row.get("phq9_total") is not None:
        phq9 = {
            "total": row["phq9_total"],
            "band": row["phq9_band"],
            "item9_positive": bool(row["phq9_item9_positive"]),
            "major_depressive_syndrome": bool(row["phq9_mds"]),
        }
    if row.get("gad7_total") is not None:
        gad7 = {"total": row["gad7_total"], "band": row["gad7_band"]}
    return {"id": row["id"], "phq9": phq9, "gad7": gad7}


def scoped_key(secret: str, client: str, key: str | None) -> str | None:
    """The stored form of a client's idempotency key: ``s1:`` and an HMAC of client and key.

    The same key from another client gives another stored key; nothing reveals the address.
    """
    if not key:
        return None
    msg = f"screening-idempotency\x00{client}\x00{key}".encode()
    return "s1:" + hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


async def store(
    settings: Settings,
    writer: ScreeningWriter,
    values: dict[str, object],
    idempotency_key: str | None,
    client: str,
) -> Outcome:
    """Store one scored screening through the writer (rate limit and idempotency included).

    Raises ``WriterUnavailable`` when nothing could be stored.
    """
    secret = settings.secret_key.get_secret_value()
    rate_key = counter_key(secret, "screening", client)
    return await writer.submit(values, rate_key, scoped_key(secret, client, idempotency_key))


async def submit(
    settings: Settings,
    writer: ScreeningWriter,
    body: bytes,
    idempotency_key: str | None,
    client: str,
) -> tuple[int, bytes]:
    """Validate, score and store one screening; return (HTTP status, JSON body)."""
    if idempotency_key is not None and len(idempotency_key) > MAX_KEY:
        return _error(422, "idempotency-key", f"must be at most {MAX_KEY} characters")
    try:
        data = ScreeningCreate.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        return 422, json.dumps({"detail": validation_details(errors)}).encode()
    values = service.row_values(data.phq9, data.gad7, data.phq9_difficulty)
    try:
        outcome = await store(settings, writer, values, idempotency_key, client)
    except WriterUnavailable:
        return _error(503, "", "the database is unavailable; nothing was stored")
    if outcome.status == "rate_limited":
        return _error(429, "", "too many requests; try again later")
    status = 201 if outcome.status == "created" else 200
    return status, json.dumps(screening_json(outcome.row)).encode()
