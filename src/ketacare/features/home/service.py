"""What each role's home page shows, built from the other features' audited services.

Lists that name patients are audited by the service that reads them (today's sessions, open
alerts, overdue questionnaires) or here (forms to sign), each with the patients shown. Counts
(the admin's summaries, the nav badges) disclose no patient and are not audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketacare.domain.compliance import rems_ops
from ketacare.features._kit import clock
from ketacare.features.assessments import alerting
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.controlled import queries as cs_queries
from ketacare.features.controlled import records as cs_records
from ketacare.features.home import queries
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.service import OverdueRow
from ketacare.features.rems import queries as rems_queries
from ketacare.features.scheduling import queries as scheduling
from ketacare.features.scheduling import service as scheduling_service
from ketacare.features.sessions import steps
from ketacare.settings import Settings

#: How many rows of a list the home page shows before "all N" links to the full page.
SHOWN = 10


def _clinic(actor: Actor) -> int:
    assert actor.user is not None
    return actor.user.clinic_id


@dataclass(frozen=True, slots=True)
class NurseHome:
    """Today's sessions and REMS forms, the notifications, and the chair boards."""

    today: steps.Today
    sites: list[Any]


def nurse_home(c: steps.Ctx) -> NurseHome:
    """The nurse's first screen (today's list is audited by ``steps.today``)."""
    return NurseHome(steps.today(c), list(scheduling.list_sites(c.db, c.user.clinic_id)))


def frontdesk_home(
    db: Session, actor: Actor, now: datetime, tz: str
) -> scheduling_service.FrontDesk:
    """The front desk's first screen: today's bookings, unconfirmed bookings of the next
    7 days, the waitlist (audited by ``scheduling.service.front_desk``)."""
    today = clock.local_date(now, tz) or now.date()
    return scheduling_service.front_desk(db, actor, now, tz, today)


@dataclass(frozen=True, slots=True)
class FormToSign:
    """A session, REMS form or consent waiting for a signature."""

    kind: str
    href: str
    patient_name: str
    detail: str


@dataclass(frozen=True, slots=True)
class ClinicianHome:
    """Open alerts, today, overdue measures and forms to sign."""

    alerts: list[tuple[Any, Any]]
    alert_total: int
    today: steps.Today
    overdue: list[OverdueRow]
    overdue_total: int
    forms: list[FormToSign] = field(default_factory=list)


def clinician_home(c: steps.Ctx) -> ClinicianHome:
    """The clinician's first screen; each list is audited with the patients it names."""
    db, actor, clinic_id = c.db, c.actor, c.user.clinic_id
    alerts = alerting.alerts_for(db, actor, "open")
    day = steps.today(c)
    overdue = outreach.overdue_for(db, actor, c.now, queries.OVERDUE_DAYS)
    forms: list[FormToSign] = []
    shown: list[int] = []
    for s, p in queries.unsigned_sessions(db, clinic_id):
        forms.append(FormToSign("Session record", f"/sessions/{s.id}", p.display_name,
                                f"session #{s.id}, discharged, not signed"))  # fmt: skip
        shown.append(p.id)
    for r in day.due:
        forms.append(FormToSign("REMS form", f"/sessions/{r.session_id}", r.patient_name,
                                    f"deadline {r.deadline}, {r.status}"))  # fmt: skip
    for _d, t, p in queries.consents_to_countersign(db, clinic_id):
        if t.document_kind == "rems-enrolment":  # the prescriber countersigns on the REMS page
            kind, href = "REMS enrolment", f"/patients/{p.id}/rems"
            what = f"{t.title}: the prescriber's countersignature needed"
        else:
            kind, href = "Consent", f"/patients/{p.id}/consent"
            what = f"{t.title} v{t.version}: countersignature needed"
        forms.append(FormToSign(kind, href, p.display_name, what))
        shown.append(p.id)
    record(db, actor, "list", "home_forms_to_sign", patients=sorted(set(shown)))
    return ClinicianHome(alerts[:SHOWN], len(alerts), day, overdue[:SHOWN], len(overdue), forms)


@dataclass(frozen=True, slots=True)
class AdminHome:
    """Summaries (counts only) of the audit log, accounts, settings, REMS and CS records."""

    clinic_name: str
    timezone: str
    users: dict[str, int]
    audit_day: int
    audit_refused: int
    audit_newest: datetime | None
    rems_overdue: int
    rems_due: int
    rems_inpatient: bool
    cs_registrations: int
    cs_containers: int
    cs_open_cases: int
    cs_overdue_cases: int
    open_alerts: int
    overdue: int


def admin_home(db: Session, actor: Actor, settings: Settings, now: datetime) -> AdminHome:
    """The admin's first screen. Counts only: no patient is named, nothing is audited."""
    clinic_id = _clinic(actor)
    clinic = db.get(Clinic, clinic_id)
    tz = clock.clinic_tz(clinic, settings.timezone).key
    today = clock.local_date(now, tz) or now.date()
    audit_day, refused, newest = queries.audit_summary(db, clinic_id, now - timedelta(days=1))
    setting = rems_queries.setting_of(db, clinic_id)
    inpatient = setting is not None and setting.setting_type == "inpatient"
    statuses: list[str] = []
    if not inpatient:
        days = settings.rems_deadline_days
        for _form, s, _p, sub in rems_queries.dosed_forms(db, clinic_id):
            treated = clock.local_date(s.dose_start, tz) or today
            statuses.append(rems_ops.pmf_status(treated, sub is not None, today, days))
    cases = cs_records.open_cases(db, clinic_id, today)
    return AdminHome(
        clinic_name=clinic.name if clinic else "",
        timezone=tz,
        users=queries.user_counts(db, clinic_id),
        audit_day=audit_day,
        audit_refused=refused,
        audit_newest=newest,
        rems_overdue=statuses.count("overdue"),
        rems_due=statuses.count("due"),
        rems_inpatient=inpatient,
        cs_registrations=len(cs_queries.registrations(db, clinic_id)),
        cs_containers=len(cs_queries.containers(db, clinic_id)),
        cs_open_cases=len(cases),
        cs_overdue_cases=sum(1 for k in cases if k.notice_overdue or k.form106_overdue),
        open_alerts=queries.open_alert_count(db, clinic_id),
        overdue=queries.overdue_count(db, clinic_id, now),
    )


#: Nav badge keys (``NavLink(badge=...)``) and the words a screen reader hears after the count.
BADGES: dict[str, str] = {"alerts": "open", "overdue": "due"}


def badge_counts(db: Session, actor: Actor, now: datetime) -> dict[str, int]:
    """The nav badges' counts for the actor's clinic: open alerts and overdue questionnaires.

    Counts only, no patient data: not audited (the header polls this every 30 seconds).
    """
    clinic_id = _clinic(actor)
    return {
        "alerts": queries.open_alert_count(db, clinic_id),
        "overdue": queries.overdue_count(db, clinic_id, now),
    }
