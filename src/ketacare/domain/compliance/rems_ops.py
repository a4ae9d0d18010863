"""SPRAVATO REMS operations: the esketamine session gate, PMF revisions and the PMF deadline.

Pure: no I/O and no clock. The gate returns :class:`Reason` objects (rule id, text, source),
one per unmet requirement, so pages and the API can say exactly why an esketamine session
cannot start (docs/rems.md).

* ``rems.setting.*``: the healthcare setting is registered, certified (on or before the
  session day), has an authorised representative, a drug acquisition route and a pulse
  oximeter on site (REMS #386, outpatient setting requirements).
* ``rems.patient.enrolled``: an outpatient is enrolled before the first treatment, with the
  Patient Enrollment Form signed by patient and prescriber (inpatient settings: exempt).
* ``rems.prescriber.on_site``: a prescriber is on site during administration and monitoring
  (an attestation naming the prescriber covering the start of the session).

>>> ok = SettingFacts(True, date(2025, 1, 2), "A. Rep", "distributor", True, "outpatient")
>>> enrolled = EnrolmentFacts(date(2025, 1, 3), True, True, False)
>>> [r.rule_id for r in session_gate(ok, enrolled, "Dr P", date(2025, 1, 3))]
[]
>>> [r.rule_id for r in session_gate(ok, None, None, date(2025, 1, 3))]
['rems.patient.enrolled', 'rems.prescriber.on_site']
>>> pmf_revision_for(date(2024, 6, 1)).id, pmf_revision_for(date(2025, 6, 1)).id
('2021-11', '2024-12')
>>> pmf_status(date(2025, 1, 28), False, date(2025, 2, 4)), pmf_deadline(date(2025, 1, 28))
('due', datetime.date(2025, 2, 4))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from ketacare.domain.sessions.rems import PMF_FIELDS, PmfField
from ketacare.domain.sessions.safety import Reason

SOURCE = "SPRAVATO REMS #386, modified 12/31/2024: outpatient healthcare setting requirements [V]"
SOURCE_ENROL = "SPRAVATO REMS #386: enrol each outpatient before the first treatment [V]"
SOURCE_PRESCRIBER = "SPRAVATO REMS #386: a prescriber on site during administration [V]"
SOURCE_PMF = "SPRAVATO REMS Patient Monitoring Form, submit within 7 days [S] (configurable)"
SOURCE_REVISION = "PMF revisions 11/2021 and after the 12/31/2024 REMS update [S]; dates [U]"

ACQUISITION_ROUTES = ("pharmacy", "distributor")
SETTING_TYPES = ("outpatient", "inpatient")
DEADLINE_DAYS = 7


@dataclass(frozen=True, slots=True)
class SettingFacts:
    """What the setting registry says about one healthcare setting."""

    certified: bool
    certified_on: date | None
    authorised_representative: str
    acquisition_route: str  # "pharmacy" (per patient, certified pharmacy) or "distributor"
    pulse_oximeter: bool
    setting_type: str = "outpatient"


@dataclass(frozen=True, slots=True)
class EnrolmentFacts:
    """A patient's REMS enrolment as recorded (``revoked``: withdrawn by a later record)."""

    enrolled_on: date | None
    patient_signed: bool
    prescriber_signed: bool
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What the clinic enforces (defaults: everything the REMS requires)."""

    require_prescriber: bool = True
    inpatient_exempt_from_enrolment: bool = True


def setting_reasons(setting: SettingFacts | None, day: date) -> list[Reason]:
    """Why the setting may not treat with esketamine on ``day`` (empty: it may)."""
    if setting is None:
        return [
            Reason(
                "rems.setting.registered",
                "This clinic has no REMS setting record: register its certification first.",
                SOURCE,
            )
        ]
    out = []
    if not setting.certified or setting.certified_on is None:
        out.append(Reason("rems.setting.certified", "The setting is not REMS-certified.", SOURCE))
    elif setting.certified_on > day:
        out.append(
            Reason(
                "rems.setting.certified",
                f"The setting is certified from {setting.certified_on.isoformat()} only.",
                SOURCE,
            )
        )
    if not setting.authorised_representative.strip():
        out.append(
            Reason(
                "rems.setting.authorised_representative",
                "The setting has no authorised representative on record.",
                SOURCE,
            )
        )
    if setting.acquisition_route not in ACQUISITION_ROUTES:
        out.append(
            Reason(
                "rems.setting.acquisition_route",
                "Record how the setting acquires the drug (certified pharmacy or distributor).",
                SOURCE,
            )
        )
    if not setting.pulse_oximeter:
        out.append(
            Reason(
                "rems.setting.pulse_oximeter",
                "The setting has no pulse oximeter on record.",
                SOURCE,
            )
        )
    return out


def enrolment_reasons(
    enrolment: EnrolmentFacts | None, day: date, setting_type: str = "outpatient"
) -> list[Reason]:
    """Why the patient may not be treated on ``day`` for want of REMS enrolment."""
    if setting_type == "inpatient":
        return []
    if enrolment is None or enrolment.revoked or enrolment.enrolled_on is None:
        text = "The patient is not enrolled in the SPRAVATO REMS."
    elif enrolment.patient_signed and not enrolment.prescriber_signed:
        text = (
            "The Patient Enrollment Form is signed by the patient and awaits the prescriber's "
            "countersignature."
        )
    elif not (enrolment.patient_signed and enrolment.prescriber_signed):
        text = "The Patient Enrollment Form needs the signatures of patient and prescriber."
    elif enrolment.enrolled_on > day:
        text = f"The patient is enrolled from {enrolment.enrolled_on.isoformat()} only."
    else:
        return []
    return [Reason("rems.patient.enrolled", text, SOURCE_ENROL)]


def booking_gate(
    setting: SettingFacts | None,
    enrolment: EnrolmentFacts | None,
    day: date,
    config: GateConfig = GateConfig(),
) -> list[Reason]:
    """Every reason an esketamine session may not be booked for ``day``: the setting's
    certification and the patient's enrolment (issue 19.1/19.2; who is on site is checked when
    the session opens, :func:`session_gate`).

    >>> [r.rule_id for r in booking_gate(None, None, date(2026, 1, 5))]
    ['rems.setting.registered', 'rems.patient.enrolled']
    """
    out = setting_reasons(setting, day)
    setting_type = setting.setting_type if setting is not None else "outpatient"
    inpatient = setting_type == "inpatient" and config.inpatient_exempt_from_enrolment
    out += enrolment_reasons(enrolment, day, "inpatient" if inpatient else "outpatient")
    return out


def session_gate(
    setting: SettingFacts | None,
    enrolment: EnrolmentFacts | None,
    prescriber: str | None,
    day: date,
    config: GateConfig = GateConfig(),
) -> list[Reason]:
    """Every reason an esketamine session may not start on ``day`` (the clinic's local date).

    ``prescriber`` names the prescriber attested on site at the start (None: nobody).
    """
    out = booking_gate(setting, enrolment, day, config)
    if config.require_prescriber and not (prescriber or "").strip():
        out.append(
            Reason(
                "rems.prescriber.on_site",
                "No prescriber is attested on site now: record who is on site first.",
                SOURCE_PRESCRIBER,
            )
        )
    return out


# --- PMF revisions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmfRevision:
    """One revision of the Patient Monitoring Form: its fields in the form's order."""

    id: str
    title: str
    effective: date
    fields: tuple[PmfField, ...]


#: Fields the current form added to the 11/2021 one ("first treatment?", "enrolled?",
#: opioids, respiratory depression) [S].
CURRENT_ONLY = frozenset(
    {"first_treatment", "enrolled", "conmed_opioids", "respiratory_depression"}
)

PMF_REVISIONS: tuple[PmfRevision, ...] = (
    PmfRevision(
        "2021-11",
        "Patient Monitoring Form 11/2021",
        date(2021, 11, 1),
        tuple(f for f in PMF_FIELDS if f.id not in CURRENT_ONLY),
    ),
    PmfRevision(
        "2024-12",
        "Patient Monitoring Form after the 12/31/2024 REMS update",
        date(2024, 12, 31),
        PMF_FIELDS,
    ),
)


def pmf_revision_for(
    session_day: date, revisions: tuple[PmfRevision, ...] = PMF_REVISIONS
) -> PmfRevision:
    """The revision in force on the session's (local) date; the oldest one before it."""
    chosen = revisions[0]
    for rev in sorted(revisions, key=lambda r: r.effective):
        if rev.effective <= session_day:
            chosen = rev
    return chosen


def pmf_deadline(treatment_day: date, days: int = DEADLINE_DAYS) -> date:
    """The last calendar day to submit: the treatment's local date plus ``days``."""
    return treatment_day + timedelta(days=days)


def pmf_status(treatment_day: date, submitted: bool, today: date, days: int = DEADLINE_DAYS) -> str:
    """``submitted``, ``overdue`` (``today`` is after the deadline day) or ``due``."""
    if submitted:
        return "submitted"
    return "overdue" if today > pmf_deadline(treatment_day, days) else "due"


def uncovered(
    cover: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` that no interval of ``cover`` contains, in order.

    >>> from datetime import UTC
    >>> h = lambda x: datetime(2026, 1, 5, x, tzinfo=UTC)
    >>> [(a.hour, b.hour) for a, b in uncovered([(h(9), h(11)), (h(12), h(14))], h(10), h(15))]
    [(11, 12), (14, 15)]
    """
    gaps: list[tuple[datetime, datetime]] = []
    at = start
    for a, b in sorted(cover):
        if b <= at:
            continue
        if a >= end:
            break
        if a > at:
            gaps.append((at, a))
        at = max(at, b)
        if at >= end:
            break
    if at < end:
        gaps.append((at, end))
    return gaps


def monitoring_reasons(
    cover: list[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    tz: tzinfo | None = None,
) -> list[Reason]:
    """Why a prescriber was not on site for all of an esketamine session's administration and
    monitoring (``start``: first device, ``end``: discharge), given the intervals a prescriber
    was attested or rostered on site (REMS since 12/2024; issue 19.3). Gaps are written as
    ``HH:MM`` in ``tz`` (the clinic's zone).

    >>> from datetime import UTC
    >>> h = lambda x: datetime(2026, 1, 5, x, tzinfo=UTC)
    >>> monitoring_reasons([(h(9), h(12))], h(10), h(12))
    []
    >>> monitoring_reasons([(h(9), h(11))], h(10), h(12))[0].text[:60]
    'No prescriber was on site during part of administration and '
    """
    gaps = uncovered(cover, start, end)
    if not gaps:
        return []
    spans = ", ".join(f"{a.astimezone(tz):%H:%M}–{b.astimezone(tz):%H:%M}" for a, b in gaps)
    text = (
        f"No prescriber was on site during part of administration and monitoring ({spans}): "
        "record who was on site (attestation or roster) before signing."
    )
    return [Reason("rems.prescriber.monitoring", text, SOURCE_PRESCRIBER)]
