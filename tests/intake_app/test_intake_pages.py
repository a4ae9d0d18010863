"""Intake form, assessment summary and treatment plan pages through the real app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.domain.intake.json_file import intake_from_dict, intake_to_dict
from ketacare.features.auth.models import Role
from ketacare.features.intake.form import document_to_values
from ketacare.features.intake.models import IntakeRecord, TreatmentPlan
from tests.conftest import count, csrf, login, make_clinic, make_user
from tests.intake_app.intake_support import EXAMPLE, make_patient


def _form(token: str, **changes: str) -> dict[str, str]:
    values = document_to_values(intake_to_dict(intake_from_dict(EXAMPLE)))
    values.update(changes)
    return {**values, "csrf_token": token}


def _clinician(client: TestClient, db: Session) -> int:
    clinic = make_clinic(db)
    login(client, make_user(db, clinic, Role.clinician).email)
    return make_patient(db, clinic).id


def test_overview_links_and_blank_form(client: TestClient, db: Session) -> None:
    pid = _clinician(client, db)
    overview = client.get(f"/patients/{pid}").text
    for part in ("intake", "assessment", "plan"):
        assert f'href="/patients/{pid}/{part}"' in overview
    page = client.get(f"/patients/{pid}/intake")
    assert page.status_code == 200
    html = page.text
    assert 'name="medical.child_pugh"' in html and 'name="blood_pressure.systolic_mmhg"' in html
    assert 'name="treatment.antidepressant_trials[3].drug"' in html
    assert 'name="csrf_token"' in html
    # Known patient facts are offered; every yes/no question starts as Unknown, not "no".
    assert 'name="demographics.age_years" type="text" inputmode="decimal" value="4' in html
    hypertension = html[html.index('name="medical.hypertension"') :][:200]
    assert '<option value="" selected>Unknown</option>' in hypertension
    assert client.get(f"/patients/{pid}/assessment").text.count('id="no-intake"') == 1
    assert 'id="no-intake"' in client.get(f"/patients/{pid}/plan").text


def test_save_correct_and_view_versions(client: TestClient, db: Session) -> None:
    pid = _clinician(client, db)
    token = csrf(client, f"/patients/{pid}/intake")
    r = client.post(f"/patients/{pid}/intake", data=_form(token))
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{pid}/assessment"
    summary = client.get(r.headers["location"]).text
    assert "From intake version 1" in summary
    for rule in ("DSM5-MDE", "DSM5-A1", "TRD-DEF", "TRD-MSM", "TRD-THASE-RUSH"):
        assert rule in summary, rule
    assert "Rybak" in summary  # sources are shown
    assert re.search(
        r'id="eligibility-esketamine">\s*<h3>[^<]*<span class="status status-eligible"', summary
    )
    assert 'id="pathway"' in summary and "Suggested first" in summary
    fixed = _form(token, **{"demographics.weight_kg": "72", "comment": "re-weighed"})
    assert client.post(f"/patients/{pid}/intake", data=fixed).status_code == 303
    page = client.get(f"/patients/{pid}/intake").text
    assert "Showing version 2 of 2" in page and 'value="72"' in page and "re-weighed" in page
    old = client.get(f"/patients/{pid}/intake?version=1").text
    assert (
        "Showing version 1 of 2" in old
        and 'name="demographics.weight_kg" type="text" inputmode="decimal" value="70"' in old
    )
    assert count(db, IntakeRecord) == 2


def test_form_errors_name_the_field_and_store_nothing(client: TestClient, db: Session) -> None:
    pid = _clinician(client, db)
    token = csrf(client, f"/patients/{pid}/intake")
    bad = client.post(
        f"/patients/{pid}/intake", data=_form(token, **{"demographics.weight_kg": "heavy"})
    )
    assert bad.status_code == 422
    assert "demographics.weight_kg" in bad.text and "must be a number" in bad.text
    assert 'value="heavy"' in bad.text  # what was typed is kept
    low = client.post(
        f"/patients/{pid}/intake", data=_form(token, **{"demographics.weight_kg": "12"})
    )
    assert low.status_code == 422 and "must be from 30 to 300" in low.text
    # A trial row with weeks but no drug: the error names that form row (row 5 = index 4).
    row = _form(token, **{"treatment.antidepressant_trials[4].weeks": "6"})
    r = client.post(f"/patients/{pid}/intake", data=row)
    assert r.status_code == 422 and "treatment.antidepressant_trials[4].drug" in r.text
    forged = client.post(f"/patients/{pid}/intake", data=_form("forged"))
    assert forged.status_code == 403
    assert count(db, IntakeRecord) == 0


def test_plan_page_calendar_pk_chart_and_ics(client: TestClient, db: Session) -> None:
    pid = _clinician(client, db)
    token = csrf(client, f"/patients/{pid}/intake")
    client.post(f"/patients/{pid}/intake", data=_form(token))
    page = client.get(f"/patients/{pid}/plan").text
    assert 'id="new-plan"' in page and 'id="no-plan"' in page
    form = {
        "protocol_id": "iv-ketamine-induction",
        "start_date": "2025-03-03",
        "weekday_mon": "on",
        "weekday_wed": "on",
        "weekday_fri": "on",
        "csrf_token": token,
    }
    none = client.post(
        f"/patients/{pid}/plan",
        data={**form, "weekday_mon": "", "weekday_wed": "", "weekday_fri": ""},
    )
    assert none.status_code == 422 and "choose at least one weekday" in none.text
    assert count(db, TreatmentPlan) == 0
    review = client.post(f"/patients/{pid}/plan", data=form)  # a confirmation step first
    assert review.status_code == 200 and 'id="confirm-plan"' in review.text
    assert count(db, TreatmentPlan) == 0
    r = client.post(f"/patients/{pid}/plan", data={**form, "confirmed": "yes"})
    assert r.status_code == 303
    resp = client.get(f"/patients/{pid}/plan")
    html = resp.text
    assert "iv-ketamine-induction</code> v1.0.0" in html and "Mon 2025-03-03" in html
    assert html.count('<td class="session"') == 6 and "March 2025" in html
    assert "35 mg over 40 min" in html
    chart = html[html.index('<figure id="pk-chart"') : html.index("</figure>")]
    assert "<svg" in chart and 'role="img"' in chart and "not dosing guidance" in chart.lower()
    assert "style=" not in chart and "<style" not in chart
    scripts = html.split("<script")[1:]  # CSP: only same-site script files
    assert all(t.startswith(' src="/static/') for t in scripts)
    assert "Decision support, not dosing guidance." in html
    csp = resp.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    ics = client.get(f"/patients/{pid}/plan.ics")
    assert ics.status_code == 200 and ics.text.startswith("BEGIN:VCALENDAR")
    assert "attachment" in ics.headers["content-disposition"]


def test_pages_are_staff_only_and_clinic_scoped(client: TestClient, db: Session) -> None:
    home, other = make_clinic(db), make_clinic(db, "other", "Other")
    pid = make_patient(db, home).id
    login(client, make_user(db, other, Role.clinician).email)
    for part in ("intake", "assessment", "plan", "plan.ics"):
        assert client.get(f"/patients/{pid}/{part}").status_code == 404, part
    client.cookies.clear()
    login(client, make_user(db, home, Role.patient).email)
    for part in ("intake", "assessment", "plan"):
        assert client.get(f"/patients/{pid}/{part}").status_code == 403, part


def test_unknown_intake_and_esketamine_plan_pages(client: TestClient, db: Session) -> None:
    pid = _clinician(client, db)
    token = csrf(client, f"/patients/{pid}/intake")
    r = client.post(f"/patients/{pid}/intake", data={"csrf_token": token})  # everything unknown
    assert r.status_code == 303
    summary = client.get(f"/patients/{pid}/assessment").text
    assert "cannot determine" in summary and "status-incomplete" in summary
    assert "Missing facts" in summary
    form = {
        "protocol_id": "esketamine-trd",
        "start_date": "2025-03-03",
        "weekday_mon": "on",
        "weekday_thu": "on",
        "esketamine_dose_mg": "84",
        "csrf_token": token,
    }
    confirmed = {**form, "confirmed": "yes"}
    assert client.post(f"/patients/{pid}/plan", data=confirmed).status_code == 303
    html = client.get(f"/patients/{pid}/plan").text
    assert html.count('<td class="session"') == 16 and "84 mg (3 devices)" in html
    assert "Weight unknown: 70 kg assumed." in html and "Perez-Ruixo" in html
    bad_model = client.get(f"/patients/{pid}/plan", params={"model": "domino"})
    assert bad_model.status_code == 200 and 'id="pk-error"' in bad_model.text
