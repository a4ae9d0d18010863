"""Public self-screen pages and the staff list of consultation requests."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.mbc import screening as content
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, KetacareError, RateLimited
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import OptionalPageUser, PageDesk, PageDeskActor
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import PatientInput, PossibleDuplicate
from ketacare.features.patients.service import validate as validate_patient
from ketacare.features.screening import convert, service
from ketacare.features.screening.api import check_public_rate
from ketacare.features.screening.submit import store
from ketacare.features.screening.writer import ScreeningWriter, WriterUnavailable

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PATIENT_FIELDS = ("given_name", "family_name", "birth_date", "sex", "mrn", "email", "phone",
                  "address_line", "city", "state", "postal_code")  # fmt: skip


def _answers(form: dict[str, str], prefix: str, n: int) -> tuple[list[int | None], dict[str, str]]:
    """Parse items ``prefix_1..n``; return values (None if unanswered) and problems."""
    values: list[int | None] = []
    problems: dict[str, str] = {}
    for i in range(1, n + 1):
        raw = form.get(f"{prefix}_{i}", "").strip()
        if raw == "":
            values.append(None)
        elif raw in {"0", "1", "2", "3"}:
            values.append(int(raw))
        else:
            values.append(None)
            problems[f"{prefix}_{i}"] = f"Question {i}: choose one of the four answers."
    return values, problems


def _require_complete(
    values: list[int | None], prefix: str, label: str, problems: dict[str, str]
) -> list[int] | None:
    answered = [v for v in values if v is not None]
    if not answered:
        return None
    for i, v in enumerate(values, start=1):
        if v is None:
            problems.setdefault(f"{prefix}_{i}", f"{label} question {i}: please choose an answer.")
    return answered if len(answered) == len(values) else None


class _Unavailable(KetacareError):
    """The database could not store the screening; nothing was stored."""

    status_code = 503


def _key(form: dict[str, str]) -> str | None:
    """The form's idempotency key (a double submit or a retry stores once)."""
    key = form.get("idempotency_key", "").strip()
    return key[:128] or None


def _form_context(
    answers: dict[str, str], errors: dict[str, str], key: str = ""
) -> dict[str, object]:
    return {"c": content, "answers": answers, "errors": errors, "key": key or uuid.uuid4().hex}


@router.get("/screen", response_class=HTMLResponse)
def screen_form(request: Request) -> Response:
    """The PHQ-9 and GAD-7 self-screen."""
    return render(request, "screening/screen.html", _form_context({}, {}))


@router.post("/screen", response_class=HTMLResponse)
async def screen_submit(request: Request, form: FormFields, settings: SettingsDep) -> Response:
    """Score and store the self-screen, or show it again with the problems and answers.

    Stored through the screening writer, as the API is (``submit.store``): one storage path,
    and no request transaction waits for the event loop while holding the rate-limit row.
    """
    phq, problems = _answers(form, "phq9", 9)
    gad, gad_problems = _answers(form, "gad7", 7)
    problems.update(gad_problems)
    diff_raw = form.get("phq9_10", "").strip()
    difficulty = int(diff_raw) if diff_raw in {"0", "1", "2", "3"} else None
    if diff_raw and difficulty is None:
        problems["phq9_10"] = "Question 10: choose one of the four answers."
    phq9 = _require_complete(phq, "phq9", "PHQ-9", problems)
    gad7 = _require_complete(gad, "gad7", "GAD-7", problems)
    if not problems and phq9 is None and gad7 is None:
        problems["form"] = "Please answer the questions of at least one questionnaire."
    if problems:
        kept = {k: v for k, v in form.items() if k.startswith(("phq9_", "gad7_"))}
        return render(
            request,
            "screening/screen.html",
            _form_context(kept, problems, form.get("idempotency_key", "")),
            status_code=422,
        )
    values = service.row_values(phq9, gad7, difficulty)
    writer: ScreeningWriter = request.app.state.screening_writer
    try:
        outcome = await store(settings, writer, values, _key(form), client_ip(request))
    except WriterUnavailable:
        raise _Unavailable("the database is unavailable; nothing was stored") from None
    if outcome.status == "rate_limited":
        raise RateLimited()
    return RedirectResponse(f"/screen/result/{outcome.row['id']}", status_code=303)


def _result_context(
    row: object, lead: dict[str, str], errors: dict[str, str], key: str = ""
) -> dict[str, object]:
    return {"s": row, "c": content, "lead": lead, "errors": errors, "key": key or uuid.uuid4().hex}


@router.get("/screen/result/{screening_id}", response_class=HTMLResponse)
def screen_result(
    screening_id: str, request: Request, db: DbDep, settings: SettingsDep
) -> Response:
    """The result, with the crisis panel first when item 9 is positive."""
    clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
    row = service.get_screening(db, clinic.id, screening_id)
    return render(request, "screening/result.html", _result_context(row, {}, {}))


@router.post("/screen/result/{screening_id}/consult", response_class=HTMLResponse)
def request_consultation(
    screening_id: str, request: Request, form: FormFields, db: DbDep, settings: SettingsDep
) -> Response:
    """Store a consultation request linked to the screening."""
    clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
    row = service.get_screening(db, clinic.id, screening_id)
    data = service.LeadInput(
        name=form.get("name", ""),
        phone=form.get("phone", ""),
        email=form.get("email", ""),
        preferred_time=form.get("preferred_time", ""),
        consent=form.get("consent") == "yes",
    )
    problems = service.lead_problems(data)
    if problems:
        kept = {k: form.get(k, "") for k in ("name", "phone", "email", "preferred_time", "consent")}
        ctx = _result_context(row, kept, problems, form.get("idempotency_key", ""))
        return render(request, "screening/result.html", ctx, status_code=422)
    check_public_rate(request, db, settings, "lead")
    service.create_lead(db, clinic, data, row, _key(form))
    return render(request, "screening/thanks.html", {"s": row, "c": content})


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalPageUser) -> Response:
    """Landing page; a signed-in user goes to their role's home (features/home)."""
    if user is not None:
        return RedirectResponse("/home", status_code=303)
    return render(request, "home.html")


@router.get("/leads", response_class=HTMLResponse)
def leads_page(request: Request, actor: PageDeskActor, db: DbDep) -> Response:
    """Consultation requests of the user's clinic, newest first."""
    leads = service.leads_for(db, actor)  # one audit event each: they hold contact details
    return render(request, "screening/leads.html", {"leads": leads})


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead_page(lead_id: RowId, request: Request, actor: PageDeskActor, db: DbDep) -> Response:
    """One consultation request with its screening, contact history and patient link."""
    lead = service.open_lead(db, actor, lead_id)
    ctx = {"lead": lead, "c": content, "notes": service.lead_notes(db, lead), "errors": {}}
    return render(request, "screening/lead.html", ctx)


@router.post("/leads/{lead_id}/status", response_class=HTMLResponse)
def lead_status(
    lead_id: RowId, form: FormFields, actor: PageDeskActor, db: DbDep, now: NowDep
) -> Response:
    """Set the status and append a note to the contact history (never overwritten)."""
    _lead, entry = service.set_lead_status(
        db, actor, lead_id, form.get("status", ""), form.get("note", ""), now
    )
    return RedirectResponse(f"/leads/{lead_id}#note-{entry.id}", status_code=303)


@router.get("/leads/{lead_id}/convert", response_class=HTMLResponse)
def convert_form(lead_id: RowId, request: Request, user: PageDesk, db: DbDep) -> Response:
    """The new-patient form, prefilled from the request."""
    lead = service.get_lead(db, user.clinic_id, lead_id)
    if lead.patient_id is not None:
        return RedirectResponse(f"/patients/{lead.patient_id}", status_code=303)
    ctx = {"lead": lead, "values": convert.prefill(lead), "errors": {}, "consent": False}
    return render(request, "screening/convert.html", ctx)


@router.post("/leads/{lead_id}/convert", response_class=HTMLResponse)
def convert_submit(
    lead_id: RowId,
    request: Request,
    form: FormFields,
    actor: PageDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Create the patient from the request, or show the form again with the problems."""
    assert actor.user is not None
    lead = service.get_lead(db, actor.user.clinic_id, lead_id)
    values = {k: form.get(k, "") for k in PATIENT_FIELDS}
    data = PatientInput(**values)
    consent = form.get("screening_consent") == "yes"
    duplicates: list[Patient] = []
    status = 422
    _, problems = validate_patient(data)
    if not problems:
        try:
            done = convert.convert_lead(
                db, actor, lead_id, data, consent, now, settings.outcome_baseline,
                form.get("confirm_duplicate") == "yes",
            )  # fmt: skip
        except PossibleDuplicate as exc:
            problems, duplicates, status = {"confirm_duplicate": exc.reason}, exc.matches, 409
        except BadRequest as exc:
            problems = {exc.field or "form": exc.reason}
        else:
            return RedirectResponse(f"/patients/{done.patient.id}", status_code=303)
    ctx = {
        "lead": lead, "values": values, "errors": problems, "consent": consent,
        "duplicates": duplicates,
    }  # fmt: skip
    return render(request, "screening/convert.html", ctx, status_code=status)
