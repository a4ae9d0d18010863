"""The charting link (issue 18.4): a session is signed only when the ledger agrees with it."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as rules
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.controlled import service
from ketacare.features.controlled.charting import session_lots
from ketacare.features.sessions.models import TreatmentSession
from tests.controlled.support import CS, DEA, T0, receipt_in
from tests.sessions.support import setup
from tests.sessions.test_sessions_api import REMS_TYPED, charted


def test_iv_rules_dose_must_match_and_every_draw_settle() -> None:
    ok = rules.SessionLedger(drawn=40_000, administered=35_500)
    assert rules.session_sign_reasons("iv", 35.5, None, "", ok) == []
    short = rules.session_sign_reasons("iv", 36.0, None, "", ok)
    assert [r.rule_id for r in short] == ["CS-CHART-DOSE"]
    open_draw = rules.SessionLedger(drawn=40_000, administered=35_500, unsettled_draws=1)
    assert [r.rule_id for r in rules.session_sign_reasons("iv", 35.5, None, "", open_draw)] == [
        "CS-CHART-DRAW"
    ]
    esk = rules.SessionLedger(drawn=56_000, administered=56_000, device_lots=("L9",), devices=2)
    assert [r.rule_id for r in rules.session_sign_reasons("esketamine", 56, 2, "L123", esk)] == [
        "CS-CHART-LOT"
    ]


def test_esketamine_session_signs_only_when_ledger_devices_match(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    nurse: User = w["nurse_user"]
    clinician: User = w["clinician_user"]
    reg = service.create_registration(
        db, Actor.for_user(clinician, "page"), CS, T0, site_name="Main", dea_number=DEA,
        address="1 Clinic Way", registrant="Dr C", expires_on=date(2028, 1, 1),
    )  # fmt: skip
    service.receive(
        db, Actor.for_user(nurse, "page"), CS, T0,
        receipt_in(reg.id, 3, drug="esketamine", form="device", container_mg="28",
                   concentration_mg_ml=None, ndc="50458-028-02", lot="L123",
                   product="SPRAVATO 28 mg nasal spray device", expiry=date(2027, 1, 31)),
    )  # fmt: skip
    db.commit()
    sid, clock = charted(client, app, w)
    base, headers = f"/api/v1/sessions/{sid}", w["nurse"]
    clock.set(minutes=125)
    assert client.post(f"{base}/discharge", headers=headers).status_code == 200
    assert (
        client.put(f"{base}/rems", json={"fields": REMS_TYPED}, headers=headers).status_code == 200
    )
    r = client.post(f"{base}/sign", headers=headers)
    assert r.status_code == 422, r.text
    assert [d["rule_id"] for d in r.json()["detail"]] == ["CS-CHART-DEV"]
    assert r.json()["detail"][0]["field"] == "controlled_substances"

    session = db.get(TreatmentSession, sid)
    assert session is not None
    actor = Actor.for_user(nurse, "page")
    from sqlalchemy import select

    from ketacare.features.controlled.models import CsContainer

    devices = db.execute(select(CsContainer.id).order_by(CsContainer.id)).scalars().all()
    for device in devices[:2]:
        d = service.append(db, actor, CS, T0, device, "draw", 28_000, session=session)
        service.append(db, actor, CS, T0, device, "administer", 28_000, draw_id=d.id)
    db.commit()
    assert session_lots(db, sid) == "L123"
    db.commit()
    r = client.post(f"{base}/sign", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["session"]["status"] == "signed"
