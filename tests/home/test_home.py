"""Role home pages and the header navigation (issue 21.2) and the nav-badge counts (21.8),
on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.models import Alert
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.outreach.models import Invitation
from ketacare.features.registry import NAV_GROUPS, nav_links
from ketacare.features.sessions.models import SessionStatus, TreatmentSession
from tests.assessments.support import PHQ9_ITEM9_2, staff
from tests.conftest import PASSWORD, count, login, make_clinic, make_user, scalar
from tests.sessions.support import make_session

ROLES = (Role.nurse, Role.clinician, Role.admin, Role.billing, Role.patient, Role.frontdesk)
#: Where each role lands after login (and at ``/``).
LANDING = {
    Role.nurse: "/home",
    Role.clinician: "/home",
    Role.admin: "/home",
    Role.billing: "/billing",
    Role.patient: "/me",
    Role.frontdesk: "/home",
}
HEADER = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
GROUP = re.compile(
    r'<span class="nav-group" role="group" aria-label="([^"]+)">(.*?)</span>\s', re.S
)
HREF = re.compile(r'<a (?:class="[^"]*" )?href="([^"]+)"')


def _header(html: str) -> str:
    found = HEADER.search(html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_nav_link_a_role_sees_answers_200(
    client: TestClient, db: Session, role: Role
) -> None:
    """No link a role cannot use: every header link of every role opens (200), the links are
    grouped by task in NAV_GROUPS order, and the page being shown is marked current."""
    clinic = make_clinic(db)
    user = make_user(db, clinic, role)
    login(client, user.email)
    declared = nav_links(role.value)
    assert declared, role
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    assert str(home.url).endswith(LANDING[role])
    header = _header(home.text)
    groups = [g for g, _body in GROUP.findall(header)]
    assert groups == [g for g, _links in declared]
    assert groups == [g for g in NAV_GROUPS if g in groups]  # task order
    for _group, links in declared:
        for link in links:
            r = client.get(link.href)
            assert r.status_code == 200, (role, link.href, r.status_code)
            # The header of the link's own page marks that link (and only it) as current.
            current = re.findall(r'<a href="([^"]+)" aria-current="page"', _header(r.text))
            assert current == [link.href], (role, link.href, current)
    # Every link in the header (the declared ones, self-screen, account) opens.
    for href in HREF.findall(header):
        assert client.get(href).status_code == 200, (role, href)


def test_login_and_root_land_on_the_role_home(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    assert client.get("/").status_code == 200  # anonymous: the public landing page
    for role in ROLES:
        user = make_user(db, clinic, role)
        client.cookies.clear()
        client.get("/login")
        token = client.cookies.get("kc_csrf")
        data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
        r = client.post("/login", data=data)  # no ``next``: the role's home
        assert r.status_code == 303 and r.headers["location"] == LANDING[role], role
        root = client.get("/")
        assert root.status_code == 303 and root.headers["location"] == "/home"
        home = client.get("/home")
        if role in (Role.billing, Role.patient):
            assert home.status_code == 303 and home.headers["location"] == LANDING[role]
        else:
            assert home.status_code == 200
            assert 'href="/home" aria-current="page"' in home.text


def test_clinician_home_lists_alerts_today_overdue_and_forms(
    client: TestClient, db: Session
) -> None:
    st = staff(db)
    r = client.post(
        f"/api/v1/patients/{st.pid}/assessments",
        json={"instrument": "phq9", "answers": PHQ9_ITEM9_2},
        headers=st.headers,
    )
    assert r.status_code == 201 and r.json()["alerts"]
    # A questionnaire due yesterday and not answered; a discharged, unsigned session.
    db.add(
        Invitation(
            clinic_id=st.clinic_id, patient_id=st.pid, instrument_id="gad7",
            token_hash="h" * 64, due_at=utcnow() - timedelta(days=1),
            expires_at=utcnow() + timedelta(days=6),
        )
    )  # fmt: skip
    db.commit()
    s = make_session(db, st.clinic, st.patient)
    sid = s.id
    db.execute(
        update(TreatmentSession)
        .where(TreatmentSession.id == sid)
        .values(status=SessionStatus.discharged)
    )
    db.commit()
    login(client, st.email)
    before = count(db, AuditEvent)
    page = client.get("/home")
    assert page.status_code == 200
    for section in ("home-alerts", "home-today", "home-overdue", "home-forms"):
        assert f'id="{section}"' in page.text
    assert "Example, Robin" in page.text or "Robin" in page.text
    assert "GAD-7" in page.text
    assert f'href="/sessions/{sid}">Session record' in page.text
    assert "no-open-alerts" not in page.text
    # Every list naming patients was audited with them.
    events = db.execute(
        select(AuditEvent.resource, AuditEvent.patients).where(AuditEvent.id > before)
    ).all()
    db.commit()
    resources = {r for r, _p in events}
    assert {"alert", "overdue", "home_forms_to_sign"} <= resources
    for resource in ("alert", "overdue", "home_forms_to_sign"):
        assert (resource, f",{st.pid},") in events, events


def test_nurse_home_shows_today_and_board(client: TestClient, db: Session) -> None:
    from tests.scheduling.support import world

    w = world(db, chairs=2, patients=1, days=1)
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    assert clinic.id == w.clinic_id
    login(client, nurse.email)
    page = client.get("/home")
    assert page.status_code == 200
    assert 'id="home-today"' in page.text and 'id="home-rems-due"' in page.text
    assert f'data-src="/scheduling/sites/{w.site_id}/board.json"' in page.text
    assert '<script src="/static/board.js"></script>' in page.text
    assert client.get(f"/scheduling/sites/{w.site_id}/board.json").status_code == 200


def test_admin_home_counts_only(client: TestClient, db: Session) -> None:
    st = staff(db)
    client.post(
        f"/api/v1/patients/{st.pid}/assessments",
        json={"instrument": "phq9", "answers": PHQ9_ITEM9_2},
        headers=st.headers,
    )
    admin = make_user(db, st.clinic, Role.admin)
    login(client, admin.email)
    before = count(db, AuditEvent)
    page = client.get("/home")
    assert page.status_code == 200
    for section in ("home-audit", "home-users", "home-settings", "home-rems", "home-cs"):
        assert f'id="{section}"' in page.text
    assert "clinician: 1" in page.text and "admin: 1" in page.text
    assert "Robin" not in page.text  # counts only: no patient named ...
    assert count(db, AuditEvent) == before  # ... so nothing disclosed to audit


def test_badges_json_counts_only_and_no_activity(client: TestClient, db: Session) -> None:
    st = staff(db)
    login(client, st.email)
    r = client.get("/home/badges.json")
    assert r.status_code == 200
    assert r.json() == {
        "alerts": {"count": 0, "text": "0 open"},
        "overdue": {"count": 0, "text": "0 due"},
    }
    assert "no-store" in r.headers["cache-control"]
    client.post(
        f"/api/v1/patients/{st.pid}/assessments",
        json={"instrument": "phq9", "answers": PHQ9_ITEM9_2},
        headers=st.headers,
    )
    n_alerts = scalar(db, select(Alert.id).where(Alert.clinic_id == st.clinic_id).limit(1))
    assert n_alerts
    before = count(db, AuditEvent)
    body = client.get("/home/badges.json").json()
    assert body["alerts"]["count"] >= 1 and body["alerts"]["text"].endswith(" open")
    assert set(body) == {"alerts", "overdue"}
    assert all(set(v) == {"count", "text"} for v in body.values())
    assert count(db, AuditEvent) == before  # counts only: not a disclosure
    # The header renders a badge slot per key and loads the poller.
    page = client.get("/alerts").text
    assert 'data-badge="alerts"' in page and 'data-badge="overdue"' in page
    assert '<script src="/static/badges.js" defer></script>' in page


def test_badges_refused_to_others(client: TestClient, db: Session) -> None:
    assert client.get("/home/badges.json").status_code in (303, 401)
    clinic = make_clinic(db)
    for role in (Role.patient, Role.billing, Role.frontdesk):
        user = make_user(db, clinic, role)
        client.cookies.clear()
        login(client, user.email)
        assert client.get("/home/badges.json").status_code == 403
