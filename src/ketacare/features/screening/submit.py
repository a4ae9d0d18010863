"""The anonymous screening submission, as one function over raw bytes.

Both the documented FastAPI route and the ASGI fast path (``fastpath.py``) call
:func:`submit`, so there is one implementation of validation, scoring, rate limiting and
storage. The fast path exists because this is the public endpoint that takes traffic
spikes (a clinic's campaign link): skipping the framework's routing and dependency
resolution roughly halves its CPU cost per request (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ketacare.features._kit.errors import validation_details
from ketacare.features.ratelimit.service import counter_key
from ketacare.features.screening import service
from ketacare.features.screening.schemas import ScreeningCreate
from ketacare.features.screening.writer import ScreeningWriter, WriterUnavailable
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
    rate_key = counter_key(settings.secret_key.get_secret_value(), "screening", client)
    try:
        outcome = await writer.submit(values, rate_key, idempotency_key or None)
    except WriterUnavailable:
        return _error(503, "", "the database is unavailable; nothing was stored")
    if outcome.status == "rate_limited":
        return _error(429, "", "too many requests; try again later")
    status = 201 if outcome.status == "created" else 200
    return status, json.dumps(screening_json(outcome.row)).encode()
