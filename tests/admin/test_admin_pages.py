"""Issue 21.8: admins run the clinic from the browser: users, API tokens, clinic settings.

Every test runs on SQLite and PostgreSQL (tests/conftest.py), through the real pages with
their CSRF token, and checks what is stored and audited.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Alert
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import AuthToken, Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.service import PatientInput, create_patient
from tests.conftest import api_token, count, csrf, login, make_clinic, make_user
from tests.test_cli import cli_env, run


def _events(db: Session, resource: str) -> list[AuditEvent]:
    db.expire_all()
    rows = list(
        db.execute(
            select(AuditEvent).where(AuditEvent.resource == resource).order_by(AuditEvent.seq)
        ).scalars()
    )
    db.commit()
    return rows


def _user(db: Session, email: str) -> SimpleNamespace:
    """The stored account, as plain values."""
    db.expire_all()
    row = db.execute(select(User).where(User.email == email)).scalar_one()
    keys = ("id", "role", "clinic_id", "display_name", "password_hash", "is_active")
    found = SimpleNamespace(**{k: getattr(row, k) for k in keys})
    db.commit()
    return found


def _account(db: Session, clinic: Clinic, role: Role) -> tuple[int, str]:
    """A user's id and email (plain values: reading an expired ORM attribute would open a
    transaction, and on SQLite hold the write lock the app needs)."""
    user = make_user(db, clinic, role)
    return user.id, user.email


def _secret(html: str) -> str:
    found = re.search(r'<code id="issued-secret">([^<]+)</code>', html)
    assert found, html
    return found.group(1)


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    token = client.cookies.get("kc_csrf")
    return client.post(path, data={"csrf_token": token or "", **data})


def test_admin_creates_a_user_who_logs_in_with_the_temporary_password(
    client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    clinic_id = clinic.id
    _admin_id, admin_email = _account(db, clinic, Role.admin)
    login(client, admin_email)
    assert client.get("/admin/users").status_code == 200
    users_before = count(db, User)

    # Bad input: the field is named, the form keeps what was typed, nothing is stored.
    r = _post(client, "/admin/users", {"email": "not-an-email", "role": "nurse"})
    assert r.status_code == 422
    assert "<strong>email</strong>" in r.text
    assert 'value="not-an-email"' in r.text
    r = _post(client, "/admin/users", {"email": "n@x.example", "role": "patient"})
    assert r.status_code == 422 and "<strong>role</strong>" in r.text
    r = _post(client, "/admin/users", {"email": "n@x.example", "role": "nurse",
                                       "display_name": "x" * 201})  # fmt: skip
    assert r.status_code == 422 and "display_name" in r.text
    assert count(db, User) == users_before
    r = _post(client, "/admin/users", {"email": admin_email, "role": "nurse"})
    assert r.status_code == 422 and "already registered" in r.text

    r = _post(
        client,
        "/admin/users",
        {"email": "Nia@Clinic.example", "role": "nurse", "display_name": " Nia  Okafor "},
    )
    assert r.status_code == 200, r.text
    password = _secret(r.text)
    created = _user(db, "nia@clinic.example")
    assert created.role == Role.nurse and created.clinic_id == clinic_id
    assert created.display_name == "Nia Okafor"
    assert password not in created.password_hash
    assert [e.resource_id for e in _events(db, "user") if e.action == "create"] == [str(created.id)]
    with TestClient(client.app, follow_redirects=False) as other:
        login(other, "nia@clinic.example", password)
    # The password is shown once: the list page does not show it again.
    assert password not in client.get("/admin/users").text


def test_role_active_and_password_reset(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    _admin_id, admin_email = _account(db, clinic, Role.admin)
    nurse_id, nurse_email = _account(db, clinic, Role.nurse)
    login(client, admin_email)
    with TestClient(client.app, follow_redirects=False) as nurse_client:
        login(nurse_client, nurse_email)
        assert nurse_client.get("/account").status_code == 200

        r = _post(client, f"/admin/users/{nurse_id}/role", {"role": "superuser"})
        assert r.status_code == 422 and "<strong>role</strong>" in r.text
        r = _post(client, f"/admin/users/{nurse_id}/role", {"role": "clinician"})
        assert r.status_code == 303
        assert _user(db, nurse_email).role == Role.clinician

        r = _post(client, f"/admin/users/{nurse_id}/active", {"active": "maybe"})
        assert r.status_code == 422 and "<strong>active</strong>" in r.text
        r = _post(client, f"/admin/users/{nurse_id}/active", {"active": "0"})
        assert r.status_code == 303
        assert _user(db, nurse_email).is_active is False
        # Deactivation ends the account's sessions at once.
        assert nurse_client.get("/account").headers["location"].startswith("/login")
        # A deactivated account gets no new password or token until it is reactivated.
        r = _post(client, f"/admin/users/{nurse_id}/password", {})
        assert r.status_code == 422
        r = _post(client, f"/admin/users/{nurse_id}/active", {"active": "1"})
        assert r.status_code == 303 and _user(db, nurse_email).is_active

        login(nurse_client, nurse_email)
        r = _post(client, f"/admin/users/{nurse_id}/password", {})
        assert r.status_code == 200
        temporary = _secret(r.text)
        assert nurse_client.get("/account").headers["location"].startswith("/login")
    with TestClient(client.app, follow_redirects=False) as fresh:
        login(fresh, nurse_email, temporary)
    changes = [e.resource_id for e in _events(db, "user") if e.action == "update"]
    assert changes == [
        f"{nurse_id}:role:nurse->clinician",
        f"{nurse_id}:deactivate",
        f"{nurse_id}:reactivate",
        f"{nurse_id}:password-reset",
    ]


def test_the_last_admin_cannot_demote_or_deactivate_themselves(
    client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    admin_id, admin_email = _account(db, clinic, Role.admin)
    login(client, admin_email)
    r = _post(client, f"/admin/users/{admin_id}/role", {"role": "clinician"})
    assert r.status_code == 422 and "needs an active admin" in r.text
    r = _post(client, f"/admin/users/{admin_id}/active", {"active": "0"})
    assert r.status_code == 422 and "<strong>active</strong>" in r.text
    assert _user(db, admin_email).role == Role.admin
    assert _user(db, admin_email).is_active
    # A patient's account is never turned into a staff account.
    patient_account_id, _ = _account(db, clinic, Role.patient)
    r = _post(client, f"/admin/users/{patient_account_id}/role", {"role": "clinician"})
    assert r.status_code == 422 and "patient role" in r.text
    # A second (deactivated) admin does not count; an active one does.
    second = make_user(db, clinic, Role.admin)
    second.is_active = False
    db.commit()
    db.expire_all()
    r = _post(client, f"/admin/users/{admin_id}/role", {"role": "clinician"})
    assert r.status_code == 422
    second.is_active = True
    db.commit()
    db.expire_all()
    r = _post(client, f"/admin/users/{admin_id}/role", {"role": "clinician"})
    assert r.status_code == 303
    # Now a clinician: the admin pages refuse them.
    assert client.get("/admin/users").status_code == 403


def test_api_tokens_are_listed_without_secrets_and_revoked(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    admin_id, admin_email = _account(db, clinic, Role.admin)
    clinician_id, _clinician_email = _account(db, clinic, Role.clinician)
    login(client, admin_email)
    r = _post(client, f"/admin/users/{clinician_id}/tokens", {"name": "  "})
    assert r.status_code == 422 and "<strong>name</strong>" in r.text
    r = _post(client, f"/admin/users/{clinician_id}/tokens", {"name": "lab import"})
    assert r.status_code == 200
    token = _secret(r.text)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/patients", headers=bearer).status_code == 200
    page = client.get(f"/admin/users/{clinician_id}").text
    assert "lab import" in page and token not in page
    db.expire_all()
    row = db.execute(select(AuthToken).where(AuthToken.name == "lab import")).scalar_one()
    db.commit()
    r = _post(client, f"/admin/users/{clinician_id}/tokens/{row.id}/revoke", {})
    assert r.status_code == 303
    assert client.get("/api/v1/patients", headers=bearer).status_code == 401
    # Revoking twice, or through another user's path, is a 404.
    r = _post(client, f"/admin/users/{clinician_id}/tokens/{row.id}/revoke", {})
    assert r.status_code == 404
    r = _post(client, f"/admin/users/{admin_id}/tokens/{row.id}/revoke", {})
    assert r.status_code == 404
    actions = [(e.action, e.resource_id) for e in _events(db, "api_token")]
    assert ("create", str(clinician_id)) in actions
    assert ("revoke", f"{clinician_id}:{row.id}") in actions


def test_an_admin_sees_and_changes_only_their_own_clinic(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    other = make_clinic(db, "other-clinic", "Other")
    _admin_id, admin_email = _account(db, clinic, Role.admin)
    theirs = make_user(db, other, Role.nurse)
    token = api_token(db, theirs)
    theirs_id, theirs_email = theirs.id, theirs.email
    login(client, admin_email)
    assert theirs_email not in client.get("/admin/users").text
    assert client.get(f"/admin/users/{theirs_id}").status_code == 404
    for path, data in (
        (f"/admin/users/{theirs_id}/role", {"role": "admin"}),
        (f"/admin/users/{theirs_id}/active", {"active": "0"}),
        (f"/admin/users/{theirs_id}/password", {}),
        (f"/admin/users/{theirs_id}/tokens", {"name": "x"}),
    ):
        assert _post(client, path, data).status_code == 404, path
    assert _user(db, theirs_email).role == Role.nurse and _user(db, theirs_email).is_active
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/patients", headers=bearer).status_code == 200


def test_forms_need_the_csrf_token(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    _admin_id, admin_email = _account(db, clinic, Role.admin)
    login(client, admin_email)
    r = client.post("/admin/users", data={"email": "a@b.example", "role": "nurse"})
    assert r.status_code == 403
    r = client.post("/admin/settings", data={"timezone": "Europe/Paris"})
    assert r.status_code == 403
    assert count(db, User) == 1


def test_clinic_settings_are_validated_stored_and_used_by_alerts(
    client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    clinic_id = clinic.id
    admin = make_user(db, clinic, Role.admin)
    bearer = {"Authorization": f"Bearer {api_token(db, admin)}"}
    login(client, admin.email)
    csrf(client, "/admin/settings")
    base = {"timezone": "America/New_York", "contact_text": "Call 555 0100 (9-5)."}
    for field, data in (
        ("timezone", base | {"timezone": "Mars/Olympus"}),
        ("contact_text", base | {"contact_text": "x" * 2001}),
        ("mcid_phq9", base | {"mcid_phq9": "-1"}),
        ("mcid_gad7", base | {"mcid_gad7": "nan"}),
        ("mcid_madrs", base | {"mcid_madrs": "61"}),
    ):
        r = _post(client, "/admin/settings", data)
        assert r.status_code == 422, field
        assert f"<strong>{field}</strong>" in r.text, field
        db.expire_all()
        stored = db.get(Clinic, clinic_id)
        assert stored is not None and stored.timezone is None and stored.contact_text == ""
        db.commit()
    r = _post(client, "/admin/settings", base | {"off_band.severe_entry": "on", "mcid_phq9": "3"})
    assert r.status_code == 303
    page = client.get("/admin/settings").text
    assert 'value="America/New_York"' in page and "Call 555 0100" in page
    db.expire_all()
    stored = db.get(Clinic, clinic_id)
    assert stored is not None
    assert stored.timezone == "America/New_York"
    assert stored.alert_disabled == "band.severe_entry"
    assert stored.alert_mcid == {"phq9": 3.0}
    db.commit()
    assert [e.action for e in _events(db, "clinic")] == ["update"]
    # Patients see the contact text on their page.
    row = db.get(Clinic, clinic_id)
    assert row is not None
    _pid, patient_email = _account(db, row, Role.patient)
    with TestClient(client.app, follow_redirects=False) as patient_client:
        login(patient_client, patient_email)
        home = patient_client.get("/me")
        assert home.status_code == 200 and "Call 555 0100 (9-5)." in home.text

    # The rules apply to new scores: a 3-point worsening alerts (MCID 3), a severe band does
    # not (switched off).
    patient_id = create_patient(db, clinic_id, PatientInput("Ada", "Quill", "1980-01-01")).id
    db.commit()
    answers = [[1, 1, 1, 1, 1, 1, 1, 1, 0], [2, 2, 2, 1, 1, 1, 1, 1, 0], [3] * 8 + [0]]
    for items in answers:
        r = client.post(
            f"/api/v1/patients/{patient_id}/assessments",
            headers=bearer,
            json={"instrument": "phq9", "answers": items},
        )
        assert r.status_code == 201, r.text
    db.expire_all()
    rules = sorted(a.rule_id for a in db.execute(select(Alert)).scalars())
    db.commit()
    assert rules == ["worsening.mcid", "worsening.mcid"]


def test_cli_and_pages_share_the_clinic_settings_service(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    make_clinic(db)
    db.commit()
    env = cli_env(database_url, tmp_path)
    r = run(env, "clinic", "alerts", "--disable", "phq9.item9")
    assert r.returncode == 2 and "cannot switch off phq9.item9" in r.stderr
    r = run(env, "clinic", "alerts", "--mcid", "phq9=0")
    assert r.returncode == 2 and "mcid_phq9" in r.stderr
    r = run(env, "clinic", "alerts", "--disable", "worsening.mcid", "--mcid", "gad7=4")
    assert r.returncode == 0, r.stderr
    assert "worsening.mcid" in r.stdout and "mcid gad7: 4" in r.stdout
    r = run(env, "clinic", "set-contact", "Call us on 555 0100.")
    assert r.returncode == 0, r.stderr
    db.expire_all()
    stored = db.execute(select(Clinic)).scalar_one()
    assert stored.contact_text == "Call us on 555 0100."
    assert stored.alert_disabled == "worsening.mcid" and stored.alert_mcid == {"gad7": 4.0}
    db.commit()
    r = run(env, "clinic", "set-timezone", "Mars/Olympus")
    assert r.returncode == 2 and "unknown time zone" in r.stderr


def test_cli_user_commands_share_the_account_rules(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    clinic = make_clinic(db)
    _admin_id, admin_email = _account(db, clinic, Role.admin)
    _nurse_id, nurse_email = _account(db, clinic, Role.nurse)
    env = cli_env(database_url, tmp_path)
    # The last admin stays, from the shell too.
    r = run(env, "user", "set-role", "--email", admin_email, "--role", "nurse")
    assert r.returncode == 2 and "last admin" in r.stderr, r.stderr
    r = run(env, "user", "deactivate", "--email", admin_email)
    assert r.returncode == 2 and "--active" in r.stderr
    r = run(env, "user", "set-role", "--email", nurse_email, "--role", "clinician")
    assert r.returncode == 0, r.stderr
    r = run(env, "user", "deactivate", "--email", nurse_email)
    assert r.returncode == 0 and not _user(db, nurse_email).is_active
    r = run(env, "user", "reset-password", "--email", nurse_email)
    assert r.returncode == 2 and "deactivated" in r.stderr
    r = run(env, "user", "reactivate", "--email", nurse_email)
    assert r.returncode == 0 and _user(db, nurse_email).is_active
    r = run(env, "user", "reset-password", "--email", nurse_email)
    assert r.returncode == 0, r.stderr
    password = r.stdout.strip()
    assert _user(db, nurse_email).role == Role.clinician
    r = run(env, "user", "set-role", "--email", "nobody@x.example", "--role", "nurse")
    assert r.returncode == 2 and "--email" in r.stderr
    db.expire_all()
    assert accounts.authenticate(db, nurse_email, password).user is not None
    db.commit()
