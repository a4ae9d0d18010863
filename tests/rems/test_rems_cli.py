"""``ketacare rems dashboard | verify`` and ``ketacare consent examples`` (both databases):
output, exit 2 naming the option on bad input, exit 1 when a stored PMF no longer matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.features.consent.models import ConsentTemplate
from ketacare.features.rems.models import PmfSubmission
from ketacare.settings import Settings
from tests.fhir.fhir_support import cli_env, run
from tests.rems.test_rems_api import signed_session, world


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The REMS API records this paper enrolment (``rems_enrolment_by_hand``), as in
    tests/rems/test_rems_api.py."""
    return settings.model_copy(update={"rems_enrolment_by_hand": True})


def test_dashboard_and_verify(
    client: TestClient, app: FastAPI, db: Session, settings: Settings, tmp_path: Path
) -> None:
    w = world(db)
    sid = signed_session(client, app, w)
    r = client.post(
        f"/api/v1/sessions/{sid}/pmf-submission",
        json={"channel": "portal", "confirmation": "C-1"},
        headers=w["nurse"],
    )
    assert r.status_code == 201, r.text
    env = cli_env(settings.database_url, tmp_path)
    out = run(env, "rems", "dashboard", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"]["submitted"] == 1
    ok = run(env, "rems", "verify", "--session", str(sid))
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stderr
    assert run(env, "rems", "verify", "--session", "999").returncode == 2
    assert run(env, "rems", "dashboard", "--clinic", "nope").returncode == 2
    stored = db.execute(select(PmfSubmission.pdf)).scalar_one()
    db.execute(update(PmfSubmission).values(pdf=stored + b" "))
    db.commit()
    bad = run(env, "rems", "verify", "--session", str(sid))
    assert bad.returncode == 1 and "MISMATCH" in bad.stdout


def test_consent_examples_are_added_once(db: Session, settings: Settings, tmp_path: Path) -> None:
    from tests.conftest import make_clinic

    make_clinic(db)
    db.commit()
    env = cli_env(settings.database_url, tmp_path)
    first = run(env, "consent", "examples")
    assert first.returncode == 0 and "3 example" in first.stdout, first.stderr
    assert "0 example" in run(env, "consent", "examples").stdout
    keys = sorted(db.execute(select(ConsentTemplate.key)).scalars())
    db.commit()
    assert keys == ["esketamine", "iv-ketamine", "telehealth-photo"]
