"""988 is a tap-to-call and tap-to-text link on phones (issue 13 point 21)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.test_pages import answers, submit


def test_crisis_panel_links_call_and_text_988(client: TestClient, db: Session) -> None:
    r = submit(client, answers([2, 2, 2, 2, 2, 0, 0, 0, 1], [2] * 7))
    html = client.get(r.headers["location"]).text
    assert 'href="tel:988"' in html and 'href="sms:988"' in html and 'href="tel:911"' in html
