"""Clinic analytics page (the clinic outcomes report in HTML), its PDF, and the patient
progress report (HTML and PDF). Staff of the clinic only; every view and export is audited.

Charts are drawn server-side by :mod:`ketacare.features.charts` and inlined as SVG
rewritten for the page CSP (``charts.render.page_svg``: no ``style`` attributes).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.dates import parse_day
from ketacare.features._kit.deps import DbDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.memo import ContentCache
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor
from ketacare.features.charts.outcomes import km_chart, rates_chart
from ketacare.features.charts.render import page_svg
from ketacare.features.patients.deps import PagePatient
from ketacare.features.reports import queries
from ketacare.features.reports.display import drawable, fmt_prop
from ketacare.features.reports.patient import patient_progress, trajectory
from ketacare.features.reports.service import ClinicOutcomes, clinic_outcomes_for

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

InstrumentQuery = Annotated[str, Query(min_length=1, max_length=32)]
# Dates as text: the filter form sends empty fields, which mean "no bound".
FromQuery = Annotated[str, Query(alias="from", max_length=10)]
ToQuery = Annotated[str, Query(alias="to", max_length=10)]
# Synthetic (generated) patients are left out of the outcomes unless asked for.
SyntheticQuery = Annotated[str, Query(max_length=10)]


def day(field: str, text: str) -> date | None:
    """A YYYY-MM-DD query value ("" = none), or BadRequest naming ``field``."""
    if not text.strip():
        return None
    return parse_day(text, field)


def clinic_name(db: DbDep, actor: Actor) -> str:
    """The caller's clinic name."""
    return queries.clinic_name(db, actor.clinic_id)


def period_label(start: date | None, end: date | None) -> str:
    """Which patients a clinic report covers."""
    if start is None and end is None:
        return "All treated patients"
    return f"Patients whose first session was {start or '…'} to {end or '…'}"


#: The page charts by the digest of the analysis drawn (matplotlib takes about 100 ms a chart).
_CHARTS: ContentCache[dict[str, Markup]] = ContentCache(16)


def clinic_charts(result: ClinicOutcomes) -> dict[str, Markup]:
    """The page charts as inline SVG (drawn once per content of the analysis)."""
    if result.analysis is None:
        return {}
    if not result.digest:
        return _draw_charts(result)
    return dict(_CHARTS.get(result.digest, lambda: _draw_charts(result)))


def _draw_charts(result: ClinicOutcomes) -> dict[str, Markup]:
    a = result.analysis
    if a is None:
        return {}
    o, d = a.overall, a.definitions
    days = [float(t.day) for t in o.timepoints if t.day is not None]
    out = {"rates": page_svg(rates_chart(o, d), "Response and remission by timepoint")}
    if drawable(o.time_to_response):
        out["km"] = page_svg(
            km_chart({"all": o.time_to_response}, risk_days=[0.0, *days]),
            "Time to response, Kaplan–Meier, with number at risk",
        )
    if o.time_to_relapse is not None and drawable(o.time_to_relapse):
        out["relapse"] = page_svg(
            km_chart(
                {"all": o.time_to_relapse},
                title="Time to relapse (Kaplan–Meier)",
                cumulative=False,
            ),
            "Time to relapse, Kaplan–Meier",
        )
    return {k: Markup(v) for k, v in out.items()}


def _period(from_: str, to_: str) -> tuple[date | None, date | None, dict[str, str]]:
    """The period's days and the errors of its fields (named ``from``/``to``)."""
    errors: dict[str, str] = {}
    start = end = None
    for field, text in (("from", from_), ("to", to_)):
        try:
            value = day(field, text)
        except BadRequest as exc:
            errors[field] = exc.reason
            continue
        if field == "from":
            start = value
        else:
            end = value
    if start is not None and end is not None and end < start:
        errors["to"] = "must not be before the start of the period"
    return start, end, errors


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    actor: PageActor,
    db: DbDep,
    instrument: InstrumentQuery = "phq9",
    from_: FromQuery = "",
    to_: ToQuery = "",
    synthetic: SyntheticQuery = "",
) -> Response:
    """Clinic outcomes with every definition, breakdowns and published rates. A bad date
    comes back in the filter form with its error (422); synthetic patients are left out
    unless ``synthetic=include``."""
    start, to, errors = _period(from_, to_)
    include = synthetic == "include"
    ctx: dict[str, object] = {
        "instrument": instrument,
        "start": from_ if errors else (start or ""),
        "end": to_ if errors else (to or ""),
        "include_synthetic": include,
        "fmt": fmt_prop,
        "clinic_name": clinic_name(db, actor),
        "errors": errors,
    }
    if errors:
        ctx |= {"result": None, "a": None, "charts": {}, "period": "", "query": ""}
        return render(request, "reports/clinic.html", ctx, status_code=422)
    try:
        result = clinic_outcomes_for(
            db, actor, instrument, start, to, include_synthetic=include, tz=page_tz(request)
        )
    except BadRequest as exc:
        ctx |= {"result": None, "a": None, "charts": {}, "period": "", "query": ""}
        ctx["errors"] = {exc.field or "instrument": exc.reason}
        return render(request, "reports/clinic.html", ctx, status_code=422)
    query = f"instrument={result.cohort.assessments.instrument}"
    query += f"&from={start}" if start else ""
    query += f"&to={to}" if to else ""
    query += "&synthetic=include" if include else ""
    ctx |= {
        "result": result,
        "a": result.analysis,
        "charts": clinic_charts(result),
        "period": period_label(start, to),
        "instrument": result.cohort.assessments.instrument,
        "query": query,
    }
    return render(request, "reports/clinic.html", ctx)


@router.get("/analytics/report.pdf")
def clinic_report_pdf(
    request: Request,
    actor: PageActor,
    db: DbDep,
    instrument: InstrumentQuery = "phq9",
    from_: FromQuery = "",
    to_: ToQuery = "",
    synthetic: SyntheticQuery = "",
) -> Response:
    """The clinic outcomes report as a PDF (audited as an export); synthetic patients are
    left out unless ``synthetic=include``."""
    start, to = day("from", from_), day("to", to_)
    result = clinic_outcomes_for(
        db, actor, instrument, start, to,
        include_synthetic=synthetic == "include", tz=page_tz(request), action="export",
    )  # fmt: skip
    from ketacare.features.reports import pdf  # fpdf2 loads with the first PDF

    body = pdf.clinic_pdf(result, clinic_name(db, actor), period_label(start, to), page_tz(request))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="clinic-outcomes.pdf"'},
    )


@router.get("/patients/{patient_id}/report", response_class=HTMLResponse)
def patient_report_page(
    request: Request, patient: PagePatient, actor: PageActor, db: DbDep
) -> Response:
    """The patient progress report."""
    report = patient_progress(db, actor, patient)
    chart = trajectory(report, page_tz(request))
    ctx = {"report": report, "patient": patient, "chart": chart, "fmt": fmt_prop}
    return render(request, "reports/patient.html", ctx)


@router.get("/patients/{patient_id}/report.pdf")
def patient_report_pdf(
    request: Request, patient: PagePatient, actor: PageActor, db: DbDep
) -> Response:
    """The patient progress report as a PDF (audited as an export)."""
    report = patient_progress(db, actor, patient, "export")
    from ketacare.features.reports import pdf  # fpdf2 loads with the first PDF

    body = pdf.patient_pdf(report, clinic_name(db, actor), page_tz(request))
    name = f"patient-{patient.id}-progress.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
