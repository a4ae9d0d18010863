"""Shared helpers for the controlled-substance tests: a clinic with a registration and stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.controlled import service
from ketacare.features.controlled.config import CsSettings
from ketacare.features.controlled.models import CsContainer, CsReceipt, CsRegistration
from tests.conftest import PASSWORD, make_clinic, make_user

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CS = CsSettings()
#: A valid DEA number (check digit 3) and a supplier's.
DEA = "AB1234563"
SUPPLIER_DEA = "PS7654321"


@dataclass
class Site:
    clinic_id: int
    nurse: User
    clinician: User
    admin: User
    reg_id: int

    def actor(self, who: str = "nurse") -> Actor:
        user: User = getattr(self, who)
        return Actor.for_user(user, "page", "127.0.0.1")


def valid_dea(prefix: str, six: str) -> str:
    """A DEA number with a correct check digit."""
    d = [int(c) for c in six]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return f"{prefix}{six}{check}"


def make_site(db: Session) -> Site:
    """Clinic, nurse, clinician, admin and one DEA registration (committed)."""
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    admin = make_user(db, clinic, Role.admin)
    reg = service.create_registration(
        db, Actor.for_user(clinician, "page"), CS, T0, site_name="Main clinic",
        dea_number=DEA, address="1 Main St, Springfield", registrant="Dr A. Smith",
        expires_on=date(2028, 1, 31),
    )  # fmt: skip
    db.commit()
    return Site(clinic.id, nurse, clinician, admin, reg.id)


def receipt_in(reg_id: int, containers: int = 5, **kw: object) -> service.ReceiptIn:
    """A receipt of ``containers`` 500 mg / 10 mL ketamine vials."""
    base: dict[str, object] = {
        "registration_id": reg_id,
        "invoice_number": "INV-1001",
        "supplier_name": "Pharma Supply Co",
        "supplier_address": "9 Depot Rd, Memphis TN",
        "supplier_dea": valid_dea("PS", "765432"),
        "received_at": T0,
        "ndc": "0409-2051-05",
        "drug": "ketamine",
        "product": "Ketamine HCl injection 50 mg/mL, 10 mL vial",
        "form": "vial",
        "container_mg": "500",
        "lot": "LOT123",
        "expiry": date(2027, 6, 30),
        "containers": containers,
        "concentration_mg_ml": 50.0,
    }
    base.update(kw)
    return service.ReceiptIn(**base)  # type: ignore[arg-type]


def stock(db: Session, site: Site, containers: int = 5, **kw: object) -> list[CsContainer]:
    """Receive ``containers`` vials (committed); returns them in label order."""
    receipt: CsReceipt = service.receive(
        db, site.actor(), CS, T0, receipt_in(site.reg_id, containers, **kw)
    )
    db.commit()
    from sqlalchemy import select

    return list(
        db.execute(
            select(CsContainer)
            .where(CsContainer.receipt_id == receipt.id)
            .order_by(CsContainer.label)
        ).scalars()
    )


def witness_of(db: Session, site: Site, who: str = "clinician") -> service.Witness:
    """The clinician (default) re-authenticating as witness."""
    user: User = getattr(site, who)
    return service.witness(db, site.actor(), CS, user.email, PASSWORD, T0)


__all__ = ["CS", "T0", "CsRegistration", "Site", "make_site", "receipt_in", "stock", "witness_of"]


def matrix_params(db: Session, clinician: User, nurse: User) -> dict[str, str]:
    """Clinic objects for the access matrix: a container, a discrepancy case, an inventory."""
    from ketacare.features.controlled import records

    boss, staff = Actor.for_user(clinician, "page"), Actor.for_user(nurse, "page")
    reg = service.create_registration(
        db, boss, CS, T0, site_name="Main", dea_number=DEA, address="1 Main St",
        registrant="Dr A", expires_on=date(2028, 1, 31),
    )  # fmt: skip
    receipt = service.receive(db, staff, CS, T0, receipt_in(reg.id, 1))
    (c,) = db.query(CsContainer).filter(CsContainer.receipt_id == receipt.id).all()
    count = records.record_count(db, staff, CS, T0, "UTC", c.id, 499_000)
    inv = records.take_inventory(db, boss, CS, T0, reg.id, "initial", "opening")
    params = {"container_id": str(c.id), "case_id": str(count.case_id), "inventory_id": str(inv.id)}
    db.commit()
    return params
