"""``ketacare billing``: the clinic's billing profile, payers, a patient's coverage and claim
delivery. Bad input exits 2 naming the option.

The feature's code is imported inside each command: ``ketacare billing --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

billing_app = typer.Typer(
    help="Billing profile, payers, coverage and claim delivery.", no_args_is_help=True
)

Clinic = Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")]


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise fail(f"{option}: use CODE=VALUE, got {v!r}")
        out[key.strip().upper()] = val.strip()
    return out


@billing_app.command("profile")
def profile(
    name: Annotated[str, typer.Option(help="Billing provider name on claims.")],
    npi: Annotated[str, typer.Option(help="Billing provider NPI (10 digits).")],
    tax_id: Annotated[str, typer.Option(help="Employer identification number (9 digits).")],
    address: Annotated[str, typer.Option()],
    city: Annotated[str, typer.Option()],
    state: Annotated[str, typer.Option(help="Two-letter state code.")],
    zip_code: Annotated[str, typer.Option("--zip", help="ZIP+4 (9 digits).")],
    phone: Annotated[str, typer.Option()] = "",
    submitter_id: Annotated[str, typer.Option(help="Your id at the clearinghouse.")] = "",
    receiver_id: Annotated[str, typer.Option(help="The clearinghouse's id.")] = "",
    receiver_name: Annotated[str, typer.Option()] = "",
    taxonomy: Annotated[str, typer.Option(help="Provider taxonomy code (optional).")] = "",
    fee: Annotated[list[str], typer.Option(help="CODE=DOLLARS, repeatable.")] = [],  # noqa: B006
    expiry_lead_days: Annotated[int, typer.Option(min=0, max=365)] = 14,
    units_lead: Annotated[int, typer.Option(min=0, max=100)] = 2,
    booking_codes: Annotated[
        str,
        typer.Option(
            help="Codes a booking draws on a prior authorisation, per route: "
            "'esketamine=G2082,G2083;iv=96365' (empty: the defaults)."
        ),
    ] = "",
    clinic: Clinic = None,
) -> None:
    """Set the clinic's billing profile (claims and superbills)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.domain.billing.codes import parse_booking_codes
    from ketacare.features.billing import queries, x12
    from ketacare.features.billing.models import BillingProfile
    from ketacare.features.clinics.repository import by_slug

    settings = load_settings()
    try:
        parse_booking_codes(booking_codes)
    except ValueError as exc:
        raise fail(f"--booking-codes: {str(exc).partition(': ')[2]}") from None
    if not x12.npi_valid(x12.digits(npi)):
        raise fail("--npi: must be 10 digits with a valid check digit")
    if len(x12.digits(tax_id)) != 9:
        raise fail("--tax-id: must be 9 digits")
    if len(x12.digits(zip_code)) != 9:
        raise fail("--zip: must be 9 digits (ZIP+4)")
    if len(state.strip()) != 2:
        raise fail("--state: two letters")
    fees = {}
    for code, dollars in _pairs(fee, "--fee").items():
        try:
            cents = round(float(dollars) * 100)
        except ValueError:
            raise fail(f"--fee: {dollars!r} is not an amount") from None
        if not 0 <= cents <= 10_000_000:
            raise fail("--fee: 0 to 100000")
        fees[code] = cents
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, (clinic or settings.public_clinic).strip().lower())
        if row is None:
            raise fail("--clinic: no such clinic")
        p = queries.profile(db, row.id) or BillingProfile(clinic_id=row.id)
        p.billing_name, p.npi, p.tax_id = name.strip()[:60], x12.digits(npi), x12.digits(tax_id)
        p.address, p.city, p.state = address.strip()[:55], city.strip()[:30], state.upper()
        p.postal_code, p.phone = x12.digits(zip_code), x12.digits(phone)[:10]
        p.submitter_id, p.receiver_id = submitter_id.strip()[:15], receiver_id.strip()[:15]
        p.receiver_name, p.taxonomy = receiver_name.strip()[:60], taxonomy.strip()[:10]
        p.fees = fees or dict(p.fees or {})
        p.auth_expiry_lead_days, p.auth_units_lead = expiry_lead_days, units_lead
        p.booking_codes = booking_codes.strip()
        db.add(p)
    typer.echo("billing profile saved")


@billing_app.command("payer")
def add_payer(
    name: Annotated[str, typer.Option(help="Payer name.")],
    payer_id: Annotated[str, typer.Option(help="Payer id at the clearinghouse.")],
    g_codes: Annotated[bool, typer.Option(help="Bill esketamine as G2082/G2083.")] = True,
    bills_drug: Annotated[bool, typer.Option(help="Bill the drug per mg (S0013/J0013).")] = False,
    drug_switch: Annotated[str, typer.Option(help="Day the payer moved to J0013.")] = "2026-01-01",
    bundles_em: Annotated[bool, typer.Option(help="No separate E/M on G-code days.")] = True,
    pos: Annotated[str, typer.Option(help="Place of service code.")] = "11",
    modifier: Annotated[list[str], typer.Option(help="CODE=MOD[,MOD], repeatable.")] = [],  # noqa: B006
    clinic: Clinic = None,
) -> None:
    """Add or update a payer and how it wants sessions coded."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.billing import queries
    from ketacare.features.billing.models import Payer
    from ketacare.features.clinics.repository import by_slug

    settings = load_settings()
    try:
        date.fromisoformat(drug_switch)
    except ValueError:
        raise fail("--drug-switch: YYYY-MM-DD") from None
    if not (len(pos) == 2 and pos.isdigit()):
        raise fail("--pos: two digits")
    mods = {k: [m.strip() for m in v.split(",")] for k, v in _pairs(modifier, "--modifier").items()}
    policy = {"uses_g_codes": g_codes, "bills_drug_separately": bills_drug,
              "drug_code_switch": drug_switch, "bundles_em": bundles_em,
              "place_of_service": pos, "modifiers": mods}  # fmt: skip
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, (clinic or settings.public_clinic).strip().lower())
        if row is None:
            raise fail("--clinic: no such clinic")
        found = [p for p in queries.payers(db, row.id) if p.name == name.strip()]
        payer = found[0] if found else Payer(clinic_id=row.id, name=name.strip()[:60])
        payer.payer_id, payer.policy = payer_id.strip()[:80], policy
        db.add(payer)
        db.flush()
        typer.echo(json.dumps({"id": payer.id, "name": payer.name}))


@billing_app.command("coverage")
def add_coverage(
    patient: Annotated[int, typer.Option(help="Patient id.", min=1)],
    payer: Annotated[str, typer.Option(help="Payer name.")],
    member_id: Annotated[str, typer.Option()],
    address: Annotated[str, typer.Option(help="Patient's street address.")],
    city: Annotated[str, typer.Option()],
    state: Annotated[str, typer.Option()],
    zip_code: Annotated[str, typer.Option("--zip")],
    group: Annotated[str, typer.Option()] = "",
    clinic: Clinic = None,
) -> None:
    """Record a patient's insurance with a payer (the patient is the subscriber)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.billing import queries, service, x12
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.patients.service import get_patient

    settings = load_settings()
    if len(state.strip()) != 2:
        raise fail("--state: two letters")
    if len(x12.digits(zip_code)) not in (5, 9):
        raise fail("--zip: 5 or 9 digits")
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, (clinic or settings.public_clinic).strip().lower())
        if row is None:
            raise fail("--clinic: no such clinic")
        found = [p for p in queries.payers(db, row.id) if p.name == payer.strip()]
        if not found:
            raise fail("--payer: no such payer (add it with 'ketacare billing payer')")
        try:
            person = get_patient(db, row.id, patient)
            service.add_coverage(
                db, Actor.cli(row.id), person, found[0].id, member_id,
                address=address.strip()[:55], city=city.strip()[:30], state=state.upper(),
                postal_code=x12.digits(zip_code), group_number=group.strip()[:50],
            )  # fmt: skip
        except KetacareError as exc:
            raise fail(f"--{(exc.field or 'patient').replace('_', '-')}: {exc.reason}") from None
    typer.echo("coverage saved")


@billing_app.command("deliver")
def deliver() -> None:
    """Deliver stored claims to the clearinghouse file drop (<data dir>/claims)."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.billing import jobs

    settings = load_settings()
    count = jobs.run(session_factory(get_engine(settings.database_url)), settings, utcnow())
    typer.echo(f"{count} claim file(s) delivered")
