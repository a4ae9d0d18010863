"""Helpers for the measurement-based-care tests: a patient, staff tokens, a real SMTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from tests.browser import free_port
from tests.conftest import api_token, make_clinic, make_user

PHQ9_ITEM9_2 = [1, 1, 1, 1, 1, 1, 1, 1, 2]  # total 10, item 9 = 2


def make_patient(
    db: Session, clinic: Clinic, email: str = "robin@example.org", name: str = "Robin"
) -> Patient:
    """A committed patient of ``clinic``."""
    patient = Patient(clinic_id=clinic.id, given_name=name, family_name="Example", email=email)
    db.add(patient)
    db.commit()
    return patient


@dataclass
class Staff:
    """A clinic, one of its clinicians with an API token, and a patient."""

    clinic: Clinic
    user: User
    headers: dict[str, str]
    patient: Patient
    pid: int = 0  # plain copies: reading ORM attributes after count() would begin a transaction
    uid: int = 0
    email: str = ""
    clinic_id: int = 0


def staff(db: Session, slug: str = "public", role: Role = Role.clinician) -> Staff:
    """A clinic with a clinician (bearer headers) and a patient, all committed."""
    clinic = make_clinic(db, slug, slug.title())
    user = make_user(db, clinic, role)
    headers = {"Authorization": f"Bearer {api_token(db, user)}"}
    patient = make_patient(db, clinic)
    return Staff(clinic, user, headers, patient, patient.id, user.id, user.email, clinic.id)


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class _Handler:
    messages: list[Message] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.arrived.set()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A real SMTP server on loopback; ``messages`` holds what it received."""

    port: int
    handler: _Handler

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def wait(self, n: int = 1, timeout: float = 10) -> list[Message]:
        """Wait until ``n`` messages arrived."""
        deadline = datetime.now(UTC).timestamp() + timeout
        while len(self.handler.messages) < n:
            self.handler.arrived.clear()
            left = deadline - datetime.now(UTC).timestamp()
            if left <= 0 or not self.handler.arrived.wait(left):
                break
        return self.handler.messages


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """Run aiosmtpd on a free loopback port for the duration of the block."""
    handler = _Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, handler)
    finally:
        controller.stop()


def body_text(message: Message) -> str:
    """The plain-text body of a received mail."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()
