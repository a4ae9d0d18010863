"""Response shapes and audited file exports (CSV, PDF) of controlled-substance records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from zoneinfo import ZoneInfo

from fastapi import Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as rules
from ketacare.features._kit import clock
from ketacare.features.audit import service as audit
from ketacare.features.auth.actor import Actor
from ketacare.features.controlled import records
from ketacare.features.controlled.models import CsCase, CsContainer, CsEvent, CsInventory
from ketacare.features.controlled.schemas import CaseOut, ContainerOut, EventOut, InventoryOut


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz``."""
    return clock.zone(tz)


def container_out(c: CsContainer) -> ContainerOut:
    """A container with its balance in mg and mL."""
    return ContainerOut(
        id=c.id, label=c.label, registration_id=c.registration_id, drug=c.drug,
        product=c.product, form=c.form, lot=c.lot, expiry=c.expiry, status=c.status,
        concentration_mg_ml=c.concentration_mg_ml, full_mg=c.full_ug / 1000,
        balance_mg=c.balance_ug / 1000, balance_ml=rules.ml(c.balance_ug, c.concentration_mg_ml),
    )  # fmt: skip


def event_out(e: CsEvent) -> EventOut:
    """A ledger event."""
    return EventOut(
        id=e.id, seq=e.seq, kind=e.kind, qty_mg=e.qty_ug / 1000, delta_mg=e.delta_ug / 1000,
        balance_mg=e.balance_ug / 1000, draw_id=e.draw_id, corrects_id=e.corrects_id,
        session_id=e.session_id, by=e.by_email, witness=e.witness_email,
        witnessed_at=e.witnessed_at, occurred_at=e.occurred_at,
    )  # fmt: skip


def case_out(case: CsCase, today: date) -> CaseOut:
    """A case with its timers as of ``today``."""
    return CaseOut(
        id=case.id,
        container=str(case.container_id or ""),
        difference_mg=rules.fmt_mg(case.difference_ug),
        significant=case.significant,
        notice_due=case.notice_due,
        form106_due=case.form106_due,
        notice_overdue=bool(
            case.notice_due and case.notice_sent_at is None and today > case.notice_due
        ),
        form106_overdue=bool(
            case.form106_due and case.form106_filed_at is None and today > case.form106_due
        ),
    )


def inventory_out(inv: CsInventory) -> InventoryOut:
    """An inventory with its lines (mg)."""
    return InventoryOut(
        id=inv.id, registration_id=inv.registration_id, kind=inv.kind, timing=inv.timing,
        taken_at=inv.taken_at, signed_by=inv.signed_by_email, lines=records.inventory_rows(inv),
    )  # fmt: skip


def _file(body: bytes | str, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def inventory_file(db: Session, actor: Actor, inv: CsInventory, fmt: str, tz: str) -> Response:
    """The inventory as CSV or PDF; the export is audited."""
    rows = records.inventory_rows(inv)
    audit.record(db, actor, "export", "cs_inventory", f"{inv.id}:{fmt}")
    name = f"inventory-{inv.kind}-{inv.id}"
    if fmt == "csv":
        return _file(records.to_csv(rows, records.INVENTORY_COLUMNS), "text/csv", f"{name}.csv")
    taken = clock.format_local(inv.taken_at, tz)
    title = f"{inv.kind.capitalize()} inventory ({inv.timing} of business), {taken}"
    signed = f"Taken and signed by {inv.signed_by_email} on {taken}."
    from ketacare.features.controlled import pdf  # fpdf2 loads with the first PDF

    return _file(pdf.inventory_pdf(title, f"Registration {inv.registration_id}", rows, signed),
                 "application/pdf", f"{name}.pdf")  # fmt: skip


def log_download(sessions: Callable[[], Session], r: records.LogRange, fmt: str) -> Response:
    """An audited export range (:func:`records.open_log_export`) as CSV, streamed from a
    server-side cursor, or as PDF built from the same cursor. Both are generated after the
    request's transaction (and its audit event) has committed."""
    name = f"cs-log-{r.registration_id}-{r.start}-{r.end}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        chunks = records.csv_chunks(records.export_rows(sessions, r))
        return StreamingResponse(chunks, media_type="text/csv", headers=disposition)

    def document() -> Iterator[bytes]:
        from ketacare.features.controlled import pdf  # fpdf2 loads with the first PDF

        subtitle = f"{r.site} ({r.dea_number}), {r.start} to {r.end} ({r.tz})"
        rows = (
            dict(zip(records.LOG_COLUMNS, v, strict=True)) for v in records.export_rows(sessions, r)
        )
        yield pdf.log_pdf("Controlled-substance log", subtitle, rows)

    return StreamingResponse(document(), media_type="application/pdf", headers=disposition)
