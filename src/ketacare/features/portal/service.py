"""The patient portal's use cases: e-mailed sign-in links and the patient's own page.

Sign-in: a patient types an e-mail address; if it belongs to exactly one patient record (or
to a patient account linked to one), a single-use link valid for ``KETACARE_PORTAL_LINK_MINUTES``
is e-mailed. The answer is the same either way (no account enumeration); requests are
rate-limited per address and per e-mail typed. Only the token's HMAC is stored. Following the
link opens a normal login session (``auth.service.start_session``) for the patient's account,
created on the first sign-in (``patient.user_id`` is set then).

The page (``portal_view``) shows only the signed-in patient's own record and is audited as one
``read`` of ``portal`` naming the patient. Services flush, never commit.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import Band, Instrument, get_instrument
from ketacare.domain.mbc.alerts import shows_crisis_guidance
from ketacare.features._kit import clock
from ketacare.features._kit.errors import (
    Forbidden,
    KetacareError,
    NotFound,
    RateLimited,
)
from ketacare.features.assessments.models import Assessment
from ketacare.features.audit.service import record
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.charts.trajectory import Point, trajectory_svg
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent import service as consent
from ketacare.features.outreach import queries as outreach_queries
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.notify import DeliveryFailed, Message, notifier_from_settings
from ketacare.features.patients.models import Patient
from ketacare.features.portal import queries, trend
from ketacare.features.portal.models import PortalLink
from ketacare.features.ratelimit.service import counter_key, hit
from ketacare.features.rems import queries as rems_queries
from ketacare.features.rems import service as rems
from ketacare.features.scheduling.public import INSTRUCTIONS
from ketacare.settings import Settings

log = logging.getLogger("ketacare.portal")

#: Instruments whose trend the portal explains (symptom measures; not in-session scales).
TREND_INSTRUMENTS = ("phq9", "gad7", "qids-sr16", "madrs", "hamd17")


class LinkGone(KetacareError):
    """The sign-in link was used already, has expired, or its account can no longer sign in."""

    status_code = 410


# --- sign-in links ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalMail:
    """A sign-in link to send once the transaction that created it has committed."""

    link_id: int
    patient_id: int
    to: str
    url: str
    expires_at: datetime
    tz: str
    clinic_name: str


def _target(db: Session, email: str) -> tuple[Patient, User | None] | None:
    """The one patient record (and its account, if any) that ``email`` signs in to."""
    user = queries.user_with_email(db, email)
    if user is not None:
        if user.role != Role.patient or not user.is_active:
            return None  # staff sign in with their password
        records = queries.linked_patients(db, user)
        return (records[0], user) if len(records) == 1 else None
    records = queries.patients_with_email(db, email)
    if len(records) != 1:
        return None  # unknown, or several records: the clinic must sort it out
    patient = records[0]
    if patient.user_id is None:
        return patient, None
    linked = db.get(User, patient.user_id)
    if linked is None or not linked.is_active or linked.role != Role.patient:
        return None
    return patient, linked


def request_link(
    db: Session, actor: Actor, settings: Settings, email_raw: str, client: str, now: datetime
) -> PortalMail | None:
    """Count the request (RateLimited over either limit) and create a link when ``email``
    matches exactly one patient record; None otherwise. The caller answers the same way."""
    email = accounts.checked_email(email_raw)
    secret = settings.secret_key.get_secret_value()
    window, t = settings.portal_rate_window_s, now.timestamp()
    by_address = hit(db, counter_key(secret, "portal-ip", client), settings.portal_rate_limit,
                     window, t)  # fmt: skip
    by_email = hit(db, counter_key(secret, "portal-email", email),
                   settings.portal_email_rate_limit, window, t)  # fmt: skip
    if not (by_address and by_email):
        raise RateLimited("too many sign-in requests: wait a few minutes, then try again")
    found = _target(db, email)
    if found is None:
        return None
    patient, user = found
    token = secrets.token_urlsafe(32)
    link = PortalLink(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        user_id=user.id if user is not None else None,
        token_hash=accounts.token_hash(secret, token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.portal_link_minutes),
    )
    db.add(link)
    db.flush()
    record(db, actor, "create", "portal_link", link.id, patient.id)
    clinic = db.get(Clinic, patient.clinic_id)
    tz = clock.clinic_tz(clinic, settings.timezone).key
    url = f"{settings.public_url.rstrip('/')}/portal/link/{token}"
    to = user.email if user is not None else accounts.normalise_email(patient.email)
    name = clinic.name if clinic is not None else settings.clinic_name
    return PortalMail(link.id, patient.id, to, url, link.expires_at, tz, name)


def link_message(mail: PortalMail) -> Message:
    """The mail that carries a sign-in link: no name, no clinical data."""
    until = (
        f"{clock.format_local(mail.expires_at, mail.tz)} {clock.tz_label(mail.expires_at, mail.tz)}"
    )
    body = (
        f"You asked to sign in to your patient page at {mail.clinic_name}.\n\n"
        f"Open this link to sign in. It works once, until {until}:\n{mail.url}\n\n"
        "If you did not ask for it, ignore this message: nobody can sign in without the link.\n"
    )
    return Message(
        to=mail.to,
        subject=f"Your sign-in link for {mail.clinic_name}",
        body=body,
        url=mail.url,
        kind="link",  # the console notifier redacts the token: a working link is a credential
        patient_id=mail.patient_id,
    )


def deliver(settings: Settings, mail: PortalMail) -> None:
    """Send the link (after the commit, from a background task); failures are logged by link
    id, without the address."""
    try:
        notifier_from_settings(settings).send(link_message(mail))
    except DeliveryFailed as exc:
        log.warning("portal link %s not delivered: %s", mail.link_id, exc)


def open_link(db: Session, settings: Settings, token: str, now: datetime) -> PortalLink:
    """The live link of ``token`` (NotFound for an unknown token, LinkGone when used or
    expired). Looking does not use it: mail scanners that fetch links must not spend them."""
    if not 20 <= len(token) <= 100:
        raise NotFound("this sign-in link is not valid")
    link = queries.link_by_hash(
        db, accounts.token_hash(settings.secret_key.get_secret_value(), token)
    )
    if link is None:
        raise NotFound("this sign-in link is not valid")
    if link.used_at is not None:
        raise LinkGone("this sign-in link has already been used")
    if link.expires_at <= now:
        raise LinkGone("this sign-in link has expired")
    return link


def _account(db: Session, link: PortalLink, patient: Patient, client: str) -> User:
    """The patient's account; created (and linked to the record) on the first sign-in."""
    user_id = link.user_id if link.user_id is not None else patient.user_id
    if user_id is not None:
        user = db.get(User, user_id)
    else:
        email = accounts.normalise_email(patient.email)
        user = queries.user_with_email(db, email)
        if user is None:
            clinic = db.get(Clinic, patient.clinic_id)
            assert clinic is not None
            try:  # no password: the patient signs in by link (a random one nobody knows)
                user = accounts.create_user(db, clinic, email, Role.patient,
                                            secrets.token_urlsafe(32))  # fmt: skip
            except accounts.AccountError:
                raise LinkGone("this sign-in link can no longer be used; ask the clinic") from None
            record(db, Actor.anonymous("link", client), "create", "user", user.id, patient.id)
    if (
        user is None
        or not user.is_active
        or user.role != Role.patient
        or user.clinic_id != patient.clinic_id
    ):
        raise LinkGone("this sign-in link can no longer be used; ask the clinic")
    if patient.user_id is None:
        patient.user_id = user.id
    return user


def redeem(db: Session, settings: Settings, token: str, client: str, now: datetime) -> User:
    """Use the link once and return the account to open a login session for (audited as a
    ``login`` by that account over the ``link`` channel). The patient's other unused links
    stop working too."""
    link = open_link(db, settings, token, now)
    if not queries.claim_link(db, link.id, now):
        raise LinkGone("this sign-in link has already been used")
    patient = db.get(Patient, link.patient_id)
    if patient is None:
        raise LinkGone("this sign-in link can no longer be used; ask the clinic")
    user = _account(db, link, patient, client)
    queries.spend_other_links(db, patient.id, now)
    db.flush()
    record(db, Actor.for_user(user, "link", client), "login", "portal_link", link.id, patient.id)
    return user


# --- the patient's page -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visit:
    """An upcoming booking with its pre-visit instructions."""

    starts_at: datetime
    ends_at: datetime
    site: str
    kind: str
    instructions: tuple[str, ...]
    confirmed: bool
    instructions_ack: bool


@dataclass(frozen=True, slots=True)
class DueLink:
    """One open questionnaire link, as the patient sees it."""

    invitation_id: int
    instrument: str
    due_at: datetime
    expires_at: datetime
    sent: bool


@dataclass(frozen=True, slots=True)
class ToSign:
    """A consent the clinic will ask the patient to sign (first time, or a new version)."""

    title: str
    body: str
    renewal: bool
    template_id: int = 0


@dataclass(frozen=True, slots=True)
class Trend:
    """One instrument's scores, explained in plain language, with the trajectory chart."""

    short_name: str
    text: str
    svg: Markup
    count: int


@dataclass(frozen=True, slots=True)
class PortalView:
    """Everything the patient's page shows (``patient`` None: no linked record)."""

    clinic_name: str
    patient: Patient | None
    visits: list[Visit]
    due: list[DueLink]
    to_sign: list[ToSign]
    trends: list[Trend]
    crisis: bool
    contact: str


def account_patient(db: Session, user: User) -> Patient | None:
    """The one patient record of a patient account (None for staff or no single record)."""
    if user.role != Role.patient:
        return None
    records = queries.linked_patients(db, user)
    return records[0] if len(records) == 1 else None


def _instrument_name(instrument_id: str) -> str:
    try:
        inst = get_instrument(instrument_id)
    except InvalidAnswer:
        return instrument_id
    return f"{inst.name} ({inst.short_name})"


def _bands(inst: Instrument, band_set: str | None) -> tuple[Band, ...]:
    chosen = band_set or inst.default_band_set
    if chosen and chosen in inst.band_sets:
        return tuple(inst.band_sets[chosen].bands)
    return tuple(inst.bands)


def _trends(rows: list[Assessment], tz: str) -> list[Trend]:
    out = []
    for iid in TREND_INSTRUMENTS:
        mine = [r for r in rows if r.instrument_id == iid and r.total is not None]
        if not mine:
            continue
        inst = get_instrument(iid)
        first, last = mine[0], mine[-1]
        assert first.total is not None and last.total is not None
        bands = _bands(inst, last.band_set)
        label = next((b.label for b in bands if b.code == last.band), None)
        text = trend.explain(
            inst.short_name, first.total, last.total if len(mine) > 1 else None,
            inst.direction, label,
        )  # fmt: skip
        points = [Point(r.completed_at, int(r.total or 0), r.band) for r in mine]
        value_range = inst.range if inst.range is not None else (0, max(p.total for p in points))
        svg = trajectory_svg(
            f"Your {inst.short_name} scores over time", points, bands, value_range, (), tz,
            baseline=float(first.total) if inst.direction == "higher_is_worse" else None,
        )  # fmt: skip
        out.append(Trend(inst.short_name, text, svg, len(mine)))
    return out


def _crisis(db: Session, patient_id: int, since: datetime) -> bool:
    """The newest recent answer of some instrument calls for the crisis panel."""
    newest: dict[str, Assessment] = {}
    for row in queries.recent_assessments(db, patient_id, since):
        newest.setdefault(row.instrument_id, row)
    for row in newest.values():
        try:
            if shows_crisis_guidance(row.instrument_id, row.flags or (), row.band):
                return True
        except InvalidAnswer:
            continue
    return False


def _to_sign(db: Session, patient: Patient, routes: set[str], now: datetime) -> list[ToSign]:
    out = []
    # An esketamine booking (kind) or an active intranasal esketamine plan (route).
    if routes & {"esketamine", "intranasal"} and _enrolment_to_sign(db, patient):
        # The SPRAVATO REMS Patient Enrollment Form (issue 19.2): the prescriber countersigns.
        form = rems.enrolment_template(db, Actor.cli(patient.clinic_id), patient.clinic_id, now)
        out.append(ToSign(form.title, form.body, False, form.id))
    for st in consent.states(db, patient):
        covered = {r for r in st.template.routes.split(",") if r}
        if st.state not in ("none", "reconsent") or (covered and not covered & routes):
            continue
        out.append(
            ToSign(st.template.title, st.template.body, st.state == "reconsent", st.template.id)
        )
    return out


def portal_view(db: Session, actor: Actor, settings: Settings, now: datetime) -> PortalView:
    """The signed-in patient's own page; audited as one read naming the patient."""
    assert actor.user is not None
    clinic = db.get(Clinic, actor.user.clinic_id)
    name = clinic.name if clinic is not None else settings.clinic_name
    # The clinic's own contact text (admin settings page) wins over the installation's setting.
    contact = (clinic.contact_text if clinic is not None else "").strip()
    contact = contact or settings.clinic_contact.strip()
    patient = account_patient(db, actor.user)
    if patient is None:
        return PortalView(name, None, [], [], [], [], False, contact)
    tz = clock.clinic_tz(clinic, settings.timezone).key
    visits = [
        Visit(
            b.starts_at,
            b.ends_at,
            site,
            b.kind.value,
            INSTRUCTIONS.get(b.kind.value, ()),
            b.confirmed_at is not None,
            b.instructions_ack_at is not None,
        )
        for b, site in queries.upcoming_bookings(db, patient.id, now)
    ]
    due = [
        DueLink(
            i.id, _instrument_name(i.instrument_id), i.due_at, i.expires_at, i.sent_at is not None
        )
        for i in outreach_queries.open_links(db, patient.id, now)
    ]
    routes = {v.kind for v in visits} | queries.active_routes(db, patient.id)
    to_sign = _to_sign(db, patient, routes, now)
    trends = _trends(list(queries.scored_assessments(db, patient.id)), tz)
    crisis = _crisis(db, patient.id, now - timedelta(days=settings.portal_crisis_days))
    record(db, actor, "read", "portal", patient.id, patient.id, patients=[patient.id])
    return PortalView(name, patient, visits, due, to_sign, trends, crisis, contact)


def start_questionnaire(
    db: Session, actor: Actor, settings: Settings, invitation_id: int, now: datetime
) -> str:
    """A fresh token for one of the patient's own open questionnaire links (the e-mailed one
    stops working); returns the path to answer it. Another patient's link is NotFound."""
    assert actor.user is not None
    patient = account_patient(db, actor.user)
    if patient is None:
        raise NotFound("no such questionnaire")
    inv = outreach.get_invitation(db, patient.id, invitation_id)
    out = outreach.fresh_link(db, settings, inv, now)
    record(db, actor, "open", "assessment_link", inv.id, patient.id)
    return "/a/" + out.url.rsplit("/", 1)[1]


def own_patient(db: Session, actor: Actor) -> Patient:
    """The signed-in patient's own record (403 for staff or an account without one record)."""
    assert actor.user is not None
    patient = account_patient(db, actor.user)
    if patient is None:
        raise Forbidden("only a patient signed in to their own record may do this")
    return patient


def _enrolment_to_sign(db: Session, patient: Patient) -> bool:
    """Whether the patient should sign a REMS enrolment form (not enrolled, none pending)."""
    current = rems_queries.enrolment_of(db, patient.id)
    if current is not None and current.kind == "enrolled":
        return False
    return rems.enrolment_form(db, patient.id).state in ("none", "revoked")


def consent_to_sign(db: Session, actor: Actor, template_id: int) -> tuple[Patient, Any]:
    """The patient's record and the consent template (or the REMS enrolment form) they open to
    sign (audited read)."""
    patient = own_patient(db, actor)
    template = consent.get_template(db, patient.clinic_id, template_id, None)
    record(db, actor, "read", "consent_template", template.id, patient_id=patient.id)
    return patient, template


def sign_consent(
    db: Session,
    actor: Actor,
    template_id: int,
    typed_name: str,
    attested: bool,
    signature: str,
    now: datetime,
    tz: str,
) -> None:
    """The patient signs a consent remotely in the portal (issue 19.5: signing by link)."""
    patient = own_patient(db, actor)
    template = consent.get_template(db, patient.clinic_id, template_id, None)
    png = consent.signature_from_form(signature)
    if template.document_kind == consent.REMS_ENROLMENT:
        # The enrolment form: the newest version, with the patient's fields; not enrolled
        # until the prescriber countersigns (features/rems).
        rems.sign_enrolment(db, actor, patient, typed_name, attested, png, now, tz)
        return
    consent.sign(db, actor, patient, template, typed_name, attested, png, now, tz)
