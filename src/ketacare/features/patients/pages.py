"""Patient list, new-patient form, the patient chart and its allergy and medicine forms."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor, PageDesk, PageDeskActor
from ketacare.features.auth.models import Role
from ketacare.features.patients import service
from ketacare.features.patients.deps import DeskPagePatient, PagePatient
from ketacare.features.patients.models import Patient
from ketacare.features.registry import chart_hooks

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
ADDRESS_FIELDS = ("address_line", "city", "state", "postal_code")
FIELDS = ("given_name", "family_name", "birth_date", "sex", "mrn", "email", "phone",
          *ADDRESS_FIELDS)  # fmt: skip


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, actor: PageDeskActor, db: DbDep, q: str = "") -> Response:
    """The clinic's patients."""
    patients = service.find_patients(db, actor, q)
    return render(request, "patients/list.html", {"patients": patients, "q": q})


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_form(request: Request, user: PageDesk) -> Response:
    """Blank new-patient form."""
    return render(request, "patients/new.html", {"values": {}, "errors": {}})


@router.post("/patients/new", response_class=HTMLResponse)
def create_patient(
    request: Request, form: FormFields, actor: PageDeskActor, db: DbDep, now: NowDep
) -> Response:
    """Create the patient, or show the form again with the problems."""
    values = {k: form.get(k, "") for k in FIELDS}
    data = service.PatientInput(**values)
    status = 422
    _, problems = service.validate(data, now.date())
    duplicates: list[Patient] = []
    if not problems:
        try:
            patient = service.add_patient(
                db, actor, data, now, confirm_duplicate=form.get("confirm_duplicate") == "yes"
            )
        except service.PossibleDuplicate as exc:
            problems, duplicates, status = {"confirm_duplicate": exc.reason}, exc.matches, 409
        except (BadRequest, service.DuplicateMrn) as exc:
            problems = {exc.field or "form": exc.reason}
            status = exc.status_code
        else:
            return RedirectResponse(f"/patients/{patient.id}", status_code=303)
    ctx = {"values": values, "errors": problems, "duplicates": duplicates}
    return render(request, "patients/new.html", ctx, status_code=status)


def _chart(
    request: Request,
    patient: Patient,
    actor: Actor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The patient chart: this feature's identity, allergies and medicines, and the panels
    of the features above it (the ``chart_panels`` registry hook; features/chart builds the
    clinical ones, features/notes will add the notes)."""
    linker = getattr(request.app.state, "patient_links", None)
    links = linker(db, patient) if linker is not None else []
    allergies, medications = service.medicines_and_allergies(db, actor, patient)
    panels = [panel for hook in chart_hooks() for panel in hook(db, actor, patient, now, settings)]
    panels.sort(key=lambda p: p.order)
    ctx = {
        "patient": patient,
        "links": links,
        "allergies": allergies,
        "medications": medications,
        "panels": panels,
        "header": getattr(request.state, "patient_header", None),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "patients/overview.html", ctx, status_code=status_code)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient: DeskPagePatient,
    actor: PageDeskActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    """The patient chart summary (issue 21.1; docs/patient-chart.md).

    Features that link records to the patient (the consultation request it came from) hand
    a function over as ``app.state.patient_links``: this feature cannot import them. The front
    desk sees the demographics only (``patients/desk.html``): no clinical panel is built.
    """
    if actor.user is not None and actor.user.role == Role.frontdesk:
        linker = getattr(request.app.state, "patient_links", None)
        links = linker(db, patient) if linker is not None else []
        return render(request, "patients/desk.html", {"patient": patient, "links": links})
    return _chart(request, patient, actor, db, now, settings)


@router.post("/patients/{patient_id}/address", response_class=HTMLResponse)
def update_address(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    """Change the patient's postal address, or show the chart again naming the bad part."""
    values = {k: form.get(k, "") for k in ADDRESS_FIELDS}
    try:
        service.update_address(db, actor, patient, now, **values)  # checks before it writes
    except BadRequest as exc:
        errors = {exc.field or "form": exc.reason}
        return _chart(request, patient, actor, db, now, settings, errors, values, 422)
    return RedirectResponse(f"/patients/{patient.id}#patient-summary", status_code=303)


@router.post("/patients/{patient_id}/allergies", response_class=HTMLResponse)
def add_allergy(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    """Record an allergy, or show the chart again naming the bad field."""
    fields = ("substance", "reaction", "severity")
    return _add_to_chart(request, form, patient, actor, db, now, settings, fields,
                         service.add_allergy, "panel-allergies")  # fmt: skip


@router.post("/patients/{patient_id}/allergies/{allergy_id}/remove")
def remove_allergy(
    allergy_id: RowId, patient: PagePatient, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """Mark an allergy removed (kept in the record, audited)."""
    service.remove_allergy(db, actor, patient, allergy_id, now)
    return RedirectResponse(f"/patients/{patient.id}#panel-allergies", status_code=303)


@router.post("/patients/{patient_id}/medications", response_class=HTMLResponse)
def add_medication(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    """Record a current medicine, or show the chart again naming the bad field."""
    fields = ("name", "dose", "started_on")
    return _add_to_chart(request, form, patient, actor, db, now, settings, fields,
                         service.add_medication, "panel-medications")  # fmt: skip


def _add_to_chart(
    request: Request,
    form: dict[str, str],
    patient: Patient,
    actor: Actor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    fields: tuple[str, ...],
    add: Callable[..., object],
    panel: str,
) -> Response:
    """One chart form (allergy or medicine): store it and go back to its panel, or show the
    chart again with the values typed and the bad field named (422)."""
    values = {k: form.get(k, "") for k in fields}
    try:
        add(db, actor, patient, now, **values)
    except BadRequest as exc:
        errors = {exc.field or "form": exc.reason}
        return _chart(request, patient, actor, db, now, settings, errors, values, 422)
    return RedirectResponse(f"/patients/{patient.id}#{panel}", status_code=303)


@router.post("/patients/{patient_id}/medications/{medication_id}/remove")
def remove_medication(
    medication_id: RowId, patient: PagePatient, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """Mark a medicine stopped (kept in the record, audited)."""
    service.remove_medication(db, actor, patient, medication_id, now)
    return RedirectResponse(f"/patients/{patient.id}#panel-medications", status_code=303)
