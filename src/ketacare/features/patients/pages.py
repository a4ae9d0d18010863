"""Patient list, new-patient form and the patient overview page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import PageActor, PageStaff
from ketacare.features.patients import service
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
FIELDS = ("given_name", "family_name", "birth_date", "sex", "mrn", "email", "phone")


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, actor: PageActor, db: DbDep, q: str = "") -> Response:
    """The clinic's patients."""
    patients = service.find_patients(db, actor, q)
    return render(request, "patients/list.html", {"patients": patients, "q": q})


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient_form(request: Request, user: PageStaff) -> Response:
    """Blank new-patient form."""
    return render(request, "patients/new.html", {"values": {}, "errors": {}})


@router.post("/patients/new", response_class=HTMLResponse)
def create_patient(
    request: Request, form: FormFields, actor: PageActor, db: DbDep, now: NowDep
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


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient: PagePatient, db: DbDep) -> Response:
    """The patient's overview, with links to each part of the record.

    Features that link records to the patient (the consultation request it came from) hand
    a function over as ``app.state.patient_links``: this feature cannot import them.
    """
    linker = getattr(request.app.state, "patient_links", None)
    links = linker(db, patient) if linker is not None else []
    return render(request, "patients/overview.html", {"patient": patient, "links": links})
