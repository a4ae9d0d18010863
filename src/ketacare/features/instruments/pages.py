"""The admin page for a clinic's licensed item text (the page form of ``ketacare instruments
load-text|unload-text|texts``).

It lists the instruments whose item text ketacare does not ship, with what the clinic has
loaded (items covered, whether links can be sent, licence note, when and by whom), never the
text itself. Loading goes through :func:`texts.load_text`, so a bad entry is refused naming
the field and nothing is stored; loads and removals are audited by the service.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.auth import queries
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageAdminActor
from ketacare.features.instruments import texts
from ketacare.features.instruments.texts import instrument, linkable

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PATH = "/admin/instrument-texts"
DONE = {"loaded": "Loaded the item text of {}.", "removed": "Removed the item text of {}."}


def _withheld() -> list[str]:
    return [i for i in instrument_ids() if get_instrument(i).licence.item_text == "withheld"]


def _rows(db: DbDep, clinic_id: int) -> list[dict[str, Any]]:
    """One row per withheld-text instrument: what is loaded, never the text."""
    stored = {r.instrument_id: r for r in texts.loaded(db, clinic_id)}
    ids = (r.loaded_by_id for r in stored.values() if r.loaded_by_id is not None)
    who = queries.user_emails(db, ids)
    out = []
    for iid in _withheld():
        inst = get_instrument(iid)
        row = stored.get(iid)
        out.append(
            {
                "inst": inst,
                "loaded": row is not None,
                "covered": len(row.texts) if row is not None else 0,
                "linkable": row is not None and linkable(texts.applied(inst, row)),
                "note": row.licence_note if row is not None else "",
                "at": row.loaded_at if row is not None else None,
                "by": who.get(row.loaded_by_id or 0, "") if row is not None else "",
            }
        )
    return out


def _page(
    request: Request,
    db: DbDep,
    actor: Actor,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    assert actor.clinic_id is not None
    ctx = {
        "rows": _rows(db, actor.clinic_id),
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "max_note": texts.MAX_NOTE_CHARS,
    }
    return render(request, "instruments/texts.html", ctx, status_code=status_code)


@router.get(PATH, response_class=HTMLResponse)
def texts_page(
    request: Request, actor: PageAdminActor, db: DbDep, loaded: str = "", removed: str = ""
) -> Response:
    """The withheld-text instruments and what the admin's clinic has loaded for each."""
    done = ""
    for kind, iid in (("loaded", loaded), ("removed", removed)):
        if iid in _withheld():
            done = DONE[kind].format(get_instrument(iid).short_name)
    return _page(request, db, actor, done=done)


@router.post(PATH, response_class=HTMLResponse)
def load(request: Request, form: FormFields, actor: PageAdminActor, db: DbDep) -> Response:
    """Load (or replace) one instrument's text; a bad entry comes back naming the field."""
    values = {k: form.get(k, "") for k in ("instrument", "texts", "licence")}
    try:
        try:
            raw = json.loads(values["texts"])
        except json.JSONDecodeError as exc:
            raise BadRequest(f"is not valid JSON ({exc.msg}, line {exc.lineno})", "texts") from None
        assert actor.clinic_id is not None
        row = texts.load_text(
            db, actor.clinic_id, values["instrument"], raw, values["licence"], actor
        )
    except BadRequest as exc:
        return _page(request, db, actor, values, {exc.field or "form": exc.reason}, "", 422)
    return RedirectResponse(f"{PATH}?loaded={row.instrument_id}", status_code=303)


@router.post(PATH + "/remove", response_class=HTMLResponse)
def remove(request: Request, form: FormFields, actor: PageAdminActor, db: DbDep) -> Response:
    """Remove one instrument's text: its links stop being sent, labels only again."""
    try:
        iid = instrument(form.get("instrument", "")).id
        assert actor.clinic_id is not None
        gone = texts.unload_text(db, actor.clinic_id, iid, actor)
        if not gone:
            raise BadRequest(f"this clinic has no text loaded for {iid}", "instrument")
    except BadRequest as exc:
        return _page(request, db, actor, None, {exc.field or "form": exc.reason}, "", 422)
    return RedirectResponse(f"{PATH}?removed={iid}", status_code=303)
