"""A clinic's licensed item text for instruments whose text ketacare does not ship.

MADRS, QIDS-SR16, the C-SSRS screeners and the CADSS ship item ids and short labels only
(clinical reference §1). A clinic that holds a licence loads its own text (``ketacare
instruments load-text``); it is validated with
:func:`ketacare.domain.instruments.with_item_texts`, stored per clinic, and applied only for
that clinic. Scoring never depends on it. Writes flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import Instrument, get_instrument, instrument_ids, with_item_texts
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.instruments.models import InstrumentText

log = logging.getLogger(__name__)
MAX_NOTE_CHARS = 500


def instrument(instrument_id: str) -> Instrument:
    """The instrument, or BadRequest naming ``instrument``."""
    try:
        return get_instrument(instrument_id)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None


def linkable(inst: Instrument) -> bool:
    """Patients may answer it alone: self-administered, with item text ketacare may show
    (shipped, or loaded by the clinic: pass the result of :func:`clinic_instrument`)."""
    self_report = inst.administration == "self-report" or "self-administered" in (
        inst.administration
    )
    return self_report and all(item.text for item in inst.items)


def applied(inst: Instrument, row: InstrumentText) -> Instrument:
    """``inst`` with the stored text of ``row`` (the built-in if it no longer fits)."""
    try:
        return with_item_texts(inst.id, row.texts)
    except InvalidAnswer as exc:  # stored for an older definition: labels only, never a crash
        log.warning("clinic %s text for %s no longer fits: %s", row.clinic_id, inst.id, exc)
        return inst


def clinic_instrument(db: Session, clinic_id: int, instrument_id: str) -> Instrument:
    """The instrument with the clinic's licensed text applied when loaded, else the built-in.

    BadRequest names ``instrument`` for an unknown id. Instruments whose text ships are
    returned without a query.
    """
    inst = instrument(instrument_id)
    if inst.licence.item_text != "withheld":
        return inst
    row = db.execute(
        select(InstrumentText).where(
            InstrumentText.clinic_id == clinic_id, InstrumentText.instrument_id == inst.id
        )
    ).scalar_one_or_none()
    return inst if row is None else applied(inst, row)


def clinic_instruments(db: Session, clinic_id: int) -> list[Instrument]:
    """Every built-in instrument, with the clinic's licensed text applied where loaded."""
    rows = {r.instrument_id: r for r in loaded(db, clinic_id)}
    out = []
    for iid in instrument_ids():
        inst = get_instrument(iid)
        out.append(applied(inst, rows[iid]) if iid in rows else inst)
    return out


def loaded(db: Session, clinic_id: int) -> list[InstrumentText]:
    """The clinic's loaded texts, by instrument id."""
    stmt = select(InstrumentText).where(InstrumentText.clinic_id == clinic_id)
    return list(db.execute(stmt.order_by(InstrumentText.instrument_id)).scalars())


def load_text(
    db: Session,
    clinic_id: int,
    instrument_id: str,
    texts: object,
    licence_note: str,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> InstrumentText:
    """Store (or replace) the clinic's text for one instrument; BadRequest names the field.

    Refused for an instrument whose text ships with ketacare, for an empty mapping, and
    without a licence note (who granted the licence, or its reference). Audited under
    ``actor`` (default: the CLI's operating-system user).
    """
    actor = actor or Actor.cli(clinic_id)
    inst = instrument(instrument_id)
    if inst.licence.item_text != "withheld":
        raise BadRequest(
            f"{inst.short_name} item text already ships with ketacare; there is nothing to load",
            "instrument",
        )
    note = licence_note.strip()
    if not note:
        raise BadRequest("must say who granted the licence (or its reference)", "licence")
    if len(note) > MAX_NOTE_CHARS:
        raise BadRequest(f"is longer than {MAX_NOTE_CHARS} characters", "licence")
    if not isinstance(texts, Mapping):
        raise BadRequest("must be a JSON object mapping item id to text", "texts")
    if not texts:
        raise BadRequest("must give the text of at least one item", "texts")
    try:
        applied = with_item_texts(inst.id, texts)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    stored = {it.id: it.text for it in applied.items if it.id in texts and it.text}
    row = db.execute(
        select(InstrumentText).where(
            InstrumentText.clinic_id == clinic_id, InstrumentText.instrument_id == inst.id
        )
    ).scalar_one_or_none()
    action = "update" if row is not None else "create"
    if row is None:
        row = InstrumentText(clinic_id=clinic_id, instrument_id=inst.id)
        db.add(row)
    row.texts = stored
    row.licence_note = note
    row.loaded_by_id = actor.user_id
    row.loaded_at = now or utcnow()
    db.flush()
    record(db, actor, action, "instrument_text", f"{clinic_id}:{inst.id}", clinic_id=clinic_id)
    return row


def unload_text(
    db: Session,
    clinic_id: int,
    instrument_id: str,
    actor: Actor | None = None,
) -> bool:
    """Delete the clinic's text for one instrument; False when none was loaded (audited under
    ``actor``, default the CLI's operating-system user)."""
    actor = actor or Actor.cli(clinic_id)
    inst = instrument(instrument_id)
    result = db.execute(
        delete(InstrumentText).where(
            InstrumentText.clinic_id == clinic_id, InstrumentText.instrument_id == inst.id
        )
    )
    gone = bool(getattr(result, "rowcount", 0))
    if gone:
        record(
            db, actor, "delete", "instrument_text", f"{clinic_id}:{inst.id}", clinic_id=clinic_id
        )
    db.flush()
    return gone
