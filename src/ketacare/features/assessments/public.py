"""The patient's one-time link: ``GET/POST /a/{token}``, no account needed.

Unknown links are 404, used or expired ones 410, each with a plain page. A submission is rate
limited per client address, carries an idempotency key (a double submit stores once and shows
the thank-you page again), and marks the link used with a conditional UPDATE.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import Instrument
from ketacare.domain.mbc.alerts import shows_crisis_guidance
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, NotFound, RateLimited
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.assessments import service
from ketacare.features.assessments.models import Assessment
from ketacare.features.auth.actor import Actor
from ketacare.features.instruments import texts
from ketacare.features.outreach import service as outreach
from ketacare.features.ratelimit.service import counter_key, hit

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
UNAVAILABLE = "this questionnaire is no longer available online; please contact your clinic"


def _gone(request: Request, reason: str, status_code: int) -> Response:
    ctx = {"reason": reason, "status": status_code}
    return render(request, "assessments/link_gone.html", ctx, status_code=status_code)


def _form(
    request: Request,
    token: str,
    inst: Instrument,
    answers: dict[str, str],
    errors: dict[str, str],
    key: str,
    status_code: int = 200,
) -> Response:
    ctx = {"token": token, "inst": inst, "answers": answers, "errors": errors, "key": key}
    return render(request, "assessments/link_form.html", ctx, status_code=status_code)


def _thanks(request: Request, row: Assessment) -> Response:
    crisis = shows_crisis_guidance(row.instrument_id, row.flags, row.band)
    return render(request, "assessments/link_thanks.html", {"crisis": crisis})


@router.get("/a/{token}", response_class=HTMLResponse)
def link_form(token: str, request: Request, db: DbDep, now: NowDep) -> Response:
    """The questionnaire of a valid link (phone-friendly, no login)."""
    secret = request.app.state.settings.secret_key.get_secret_value()
    try:
        inv = outreach.find_invitation(db, secret, token)
        outreach.check_open(inv, now)
    except (NotFound, outreach.LinkGone) as exc:
        return _gone(request, exc.reason, exc.status_code)
    inst = texts.clinic_instrument(db, inv.clinic_id, inv.instrument_id)
    if not texts.linkable(inst):  # the clinic unloaded its licensed text after sending
        return _gone(request, UNAVAILABLE, 410)
    return _form(request, token, inst, {}, {}, secrets.token_urlsafe(16))


@router.post("/a/{token}", response_class=HTMLResponse)
def link_submit(
    token: str, request: Request, form: FormFields, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """Score and store the answers once; 422 keeps the answers and names the question."""
    rate_key = counter_key(settings.secret_key.get_secret_value(), "assessment_link",
                           client_ip(request))  # fmt: skip
    if not hit(db, rate_key, settings.public_rate_limit, settings.public_rate_window_s):
        raise RateLimited()
    try:
        inv = outreach.find_invitation(db, settings.secret_key.get_secret_value(), token)
    except NotFound as exc:
        return _gone(request, exc.reason, 404)
    key = form.get("idempotency_key", "") or None  # long keys are hashed, never cut
    if key:
        earlier = service.by_idempotency_key(db, service.scoped_key(inv.patient_id, key))
        if earlier is not None:
            return _thanks(request, earlier)
    inst = texts.clinic_instrument(db, inv.clinic_id, inv.instrument_id)
    try:
        outreach.check_open(inv, now)
    except outreach.LinkGone as exc:
        return _gone(request, exc.reason, 410)
    if not texts.linkable(inst):
        return _gone(request, UNAVAILABLE, 410)
    kept = {k: v for k, v in form.items() if k.startswith("item_")}
    try:
        answers = service.parse_form_answers(inst, form)
        missing = service.missing_errors(inst, answers)
        if missing:  # name every unanswered item, as the self-screen does
            return _form(request, token, inst, kept, missing, key or "", 422)
        service.score_answers(inst.id, answers)
    except (BadRequest, InvalidAnswer) as exc:
        field = exc.field or "form"
        item = field.split(".", 1)[1] if field.startswith(inst.id + ".") else field
        return _form(request, token, inst, kept, {item: exc.reason}, key or "", 422)
    actor = Actor.anonymous("link", client_ip(request))
    try:
        row = service.answer_link(
            db, actor, inv, inst.id, answers, key, now, settings.outcome_baseline
        )
    except outreach.LinkGone as exc:
        return _gone(request, exc.reason, 410)
    return _thanks(request, row)
