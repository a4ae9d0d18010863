"""Billing code rules as data: which codes a signed session suggests, and why.

Pure (no I/O). The code table is versioned by effective date and every row names its source;
facts the reference marks unverified are tagged ``[U]`` and are parameters of
:class:`BillingConfig` or of the payer's :class:`PayerPolicy` (docs/billing.md). ketacare only
*suggests*: a clinician or billing user confirms each line before it reaches a claim.

Sources: ``rems-billing.md`` §4 (shared reference, December 2026).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, Literal

from ketacare.domain.rules import Reason

SRC_G_CODES: Final = (
    "CMS HCPCS G2082/G2083 (CY2020 PFS); billing guides agree: established patient, "
    "includes 2 h observation, no separate E/M where bundled [S] (rems-billing.md §4)"
)
SRC_J0013: Final = (
    "HCPCS J0013 esketamine nasal spray 1 mg from 2026-01-01, replacing S0013 "
    "[S: UnitedHealthcare 2026D0069P; Osmind; Neolytix] (rems-billing.md §4)"
)
SRC_S0013: Final = (
    "HCPCS S0013 esketamine nasal spray 1 mg, until 2025-12-31 [S] (rems-billing.md §4)"
)
SRC_INFUSION: Final = (
    "[U] CPT 96365 IV infusion initial hour (> 15 min), 96366 each additional hour "
    "(> 30 min beyond the last hour); confirm against CPT (rems-billing.md §4)"
)
SRC_J3490: Final = "HCPCS J3490 unlisted drug, units per the payer [U] (rems-billing.md §4)"
SRC_NEW_PATIENT: Final = (
    "[S] CMS Claims Processing Manual ch. 12 §30.6.7: new patient = no professional service "
    "from the practice within the past 3 years (lookback configurable)"
)
SRC_POLICY: Final = "ketacare policy: only signed sessions are billed (docs/billing.md)"

#: Routes of a treatment session (``treatment_session.route``).
Route = Literal["esketamine", "iv"]


@dataclass(frozen=True, slots=True)
class CodeRule:
    """One billing code, valid from ``effective_from`` up to ``effective_to`` (inclusive)."""

    code: str
    description: str
    effective_from: date
    effective_to: date | None
    source: str
    unit: str = "service"

    def valid_on(self, day: date) -> bool:
        """Whether the code may be billed for a service on ``day``."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


#: The code table (add rows, never edit a past row: a changed code gets an end date and a new row).
CODE_TABLE: Final[tuple[CodeRule, ...]] = (
    CodeRule("G2082", "Esketamine nasal, established patient, up to 56 mg, incl. 2 h observation",
             date(2020, 1, 1), None, SRC_G_CODES),
    CodeRule("G2083", "Esketamine nasal, established patient, over 56 mg, incl. 2 h observation",
             date(2020, 1, 1), None, SRC_G_CODES),
    CodeRule("S0013", "Esketamine nasal spray, 1 mg", date(2019, 7, 1), date(2025, 12, 31),
             SRC_S0013, unit="mg"),
    CodeRule("J0013", "Esketamine nasal spray, 1 mg", date(2026, 1, 1), None, SRC_J0013, unit="mg"),
    CodeRule("96365", "IV infusion, initial hour", date(2009, 1, 1), None, SRC_INFUSION),
    CodeRule("96366", "IV infusion, each additional hour", date(2009, 1, 1), None, SRC_INFUSION,
             unit="hour"),
    CodeRule("J3490", "Unlisted drug (ketamine)", date(2000, 1, 1), None, SRC_J3490, unit="unit"),
)  # fmt: skip

#: Codes whose units an esketamine prior authorisation usually counts (one per session).
ESKETAMINE_SESSION_CODES: Final = frozenset({"G2082", "G2083"})


def code_rule(code: str, day: date) -> CodeRule | None:
    """The row of ``code`` valid on ``day`` (None if the code is not valid then)."""
    for rule in CODE_TABLE:
        if rule.code == code and rule.valid_on(day):
            return rule
    return None


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """Thresholds the sources do not settle (docs/billing.md lists each with its tag)."""

    #: G2082 up to and including this dose, G2083 above it (mg) [S].
    g_code_threshold_mg: float = 56.0
    #: A patient is established after a service within this many days (3 years) [S].
    established_lookback_days: int = 1095
    #: G-codes include this much observation (minutes); shorter monitoring is flagged [S].
    observation_min: int = 120
    #: An infusion must last more than this to be an infusion (minutes) [U].
    infusion_min_minutes: int = 15
    #: An additional infusion hour counts when it runs more than this past the last hour [U].
    additional_hour_over_min: int = 30
    #: Milligrams of ketamine per J3490 unit [U].
    ketamine_mg_per_unit: float = 1.0


@dataclass(frozen=True, slots=True)
class PayerPolicy:
    """How one payer wants sessions coded (configured per payer; defaults follow Medicare)."""

    #: Bill esketamine sessions as G2082/G2083 (Medicare and payers that follow it).
    uses_g_codes: bool = True
    #: Bill the esketamine drug separately per mg (S0013, then J0013).
    bills_drug_separately: bool = False
    #: The day this payer moved from S0013 to J0013 (payers moved unevenly) [S].
    drug_code_switch: date = date(2026, 1, 1)
    #: No separate E/M on the date of a bundled G-code session.
    bundles_em: bool = True
    #: CMS place-of-service code (11 = office).
    place_of_service: str = "11"
    #: Modifiers per code, e.g. ``{"J0013": ("JZ",)}``.
    modifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Modifier of a separately billed E/M on the same day.
    em_modifier: str = "25"


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What a signed session says (times in UTC, the service date in the clinic's zone)."""

    service_date: date
    route: str
    signed: bool
    dose_mg: float | None
    dose_start: datetime | None = None
    dose_end: datetime | None = None
    monitoring_end: datetime | None = None
    #: Dates of the patient's earlier services at the practice (sessions, visits).
    prior_service_dates: tuple[date, ...] = ()
    #: A billing user's or clinician's own answer (None: derived from the dates).
    established: bool | None = None
    #: An E/M code the clinic wants to bill on the same date ("" for none).
    em_code: str = ""


@dataclass(frozen=True, slots=True)
class CodeLine:
    """One suggested claim line with the reasons for it."""

    code: str
    description: str
    units: int
    modifiers: tuple[str, ...]
    place_of_service: str
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "description": self.description,
            "units": self.units,
            "modifiers": list(self.modifiers),
            "place_of_service": self.place_of_service,
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The suggested lines and the notes on what was not suggested (each with its reason)."""

    lines: tuple[CodeLine, ...]
    notes: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The suggested codes in order."""
        return tuple(line.code for line in self.lines)


def is_established(facts: SessionFacts, config: BillingConfig) -> tuple[bool, Reason]:
    """Whether the patient is established on the service date, and why."""
    if facts.established is not None:
        word = "established" if facts.established else "new"
        return facts.established, Reason(
            "BILL-ESTABLISHED", f"Recorded by the clinic as an {word} patient.", SRC_NEW_PATIENT
        )
    since = facts.service_date - timedelta(days=config.established_lookback_days)
    earlier = [d for d in facts.prior_service_dates if since <= d < facts.service_date]
    if earlier:
        return True, Reason(
            "BILL-ESTABLISHED",
            f"Established patient: an earlier service on {max(earlier).isoformat()} "
            f"(within {config.established_lookback_days} days).",
            SRC_NEW_PATIENT,
        )
    return False, Reason(
        "BILL-NEW-PATIENT",
        f"New patient: no earlier service in the {config.established_lookback_days} days "
        "before this date.",
        SRC_NEW_PATIENT,
    )


def _line(
    code: str, day: date, units: int, payer: PayerPolicy, reasons: list[Reason]
) -> CodeLine | None:
    rule = code_rule(code, day)
    if rule is None:
        return None
    own = Reason(f"BILL-CODE-{code}", rule.description, rule.source)
    modifiers = tuple(payer.modifiers.get(code, ()))
    return CodeLine(
        code, rule.description, units, modifiers, payer.place_of_service, (*reasons, own)
    )


def _check(facts: SessionFacts) -> None:
    if facts.dose_mg is not None and not (0 < facts.dose_mg <= 1000):
        raise ValueError("dose_mg must be above 0 and at most 1000")
    for name in ("dose_start", "dose_end", "monitoring_end"):
        value = getattr(facts, name)
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")


def suggest(
    facts: SessionFacts, payer: PayerPolicy | None = None, config: BillingConfig | None = None
) -> Suggestion:
    """The claim lines a session suggests for ``payer``, each with its reasons.

    Raises ``ValueError`` for an impossible dose or naive times.
    """
    payer = payer or PayerPolicy()
    config = config or BillingConfig()
    _check(facts)
    if not facts.signed:
        return Suggestion(
            (), (Reason("BILL-UNSIGNED", "The session is not signed yet.", SRC_POLICY),)
        )
    if facts.dose_mg is None:
        return Suggestion((), (Reason("BILL-NO-DOSE", "No dose was recorded.", SRC_POLICY),))
    if facts.route == "esketamine":
        return _esketamine(facts, payer, config)
    if facts.route == "iv":
        return _iv(facts, payer, config)
    return Suggestion(
        (), (Reason("BILL-ROUTE", f"No rule for route {facts.route!r}.", SRC_POLICY),)
    )


def _esketamine(facts: SessionFacts, payer: PayerPolicy, config: BillingConfig) -> Suggestion:
    assert facts.dose_mg is not None
    day = facts.service_date
    lines: list[CodeLine] = []
    notes: list[Reason] = []
    established, why = is_established(facts, config)
    g_line = None
    if payer.uses_g_codes and established:
        above = facts.dose_mg > config.g_code_threshold_mg
        code = "G2083" if above else "G2082"
        word = "above" if above else "at or below"
        dose = Reason(
            "BILL-ESK-DOSE",
            f"{facts.dose_mg:g} mg given: {word} {config.g_code_threshold_mg:g} mg.",
            SRC_G_CODES,
        )
        reasons = [dose, why]
        monitored = _minutes(facts.dose_start, facts.monitoring_end)
        if monitored is not None and monitored < config.observation_min:
            reasons.append(Reason(
                "BILL-ESK-OBSERVATION",
                f"Monitoring lasted {monitored} min; {code} includes "
                f"{config.observation_min} min of observation: check before billing.",
                SRC_G_CODES,
            ))  # fmt: skip
        g_line = _line(code, day, 1, payer, reasons)
        if g_line is not None:
            lines.append(g_line)
    elif payer.uses_g_codes:
        notes.append(Reason(
            "BILL-ESK-NEW-PATIENT",
            "G2082/G2083 are not billable for a new patient: the clinician chooses the visit code.",
            SRC_G_CODES,
        ))  # fmt: skip
        notes.append(why)
    if payer.bills_drug_separately:
        code = "J0013" if day >= payer.drug_code_switch else "S0013"
        if code_rule(code, day) is None:  # a payer switch date outside the code's life
            code = "S0013" if code == "J0013" else "J0013"
        units = math.ceil(facts.dose_mg - 1e-9)
        drug = Reason(
            "BILL-ESK-DRUG",
            f"This payer bills the drug separately: {units} x 1 mg as {code} "
            f"(J0013 from {payer.drug_code_switch.isoformat()} for this payer).",
            SRC_J0013 if code == "J0013" else SRC_S0013,
        )
        drug_line = _line(code, day, units, payer, [drug])
        if drug_line is not None:
            lines.append(drug_line)
    if facts.em_code:
        if g_line is not None and payer.bundles_em:
            notes.append(Reason(
                "BILL-EM-BUNDLED",
                f"No separate E/M ({facts.em_code}) on the date of {g_line.code}: this payer "
                "bundles it.",
                SRC_G_CODES,
            ))  # fmt: skip
        else:
            lines.append(CodeLine(
                facts.em_code, "Evaluation and management visit", 1,
                (payer.em_modifier,) if g_line is not None and payer.em_modifier else (),
                payer.place_of_service,
                (Reason("BILL-EM-SEPARATE", "The clinic records a separate E/M visit on this date "
                        "and the payer does not bundle it.", SRC_G_CODES),),
            ))  # fmt: skip
    return Suggestion(tuple(lines), tuple(notes))


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return int((end - start).total_seconds() // 60)


def infusion_hours(minutes: int, config: BillingConfig) -> tuple[int, int]:
    """Units of (96365, 96366) for an infusion of ``minutes`` minutes."""
    if minutes <= config.infusion_min_minutes:
        return 0, 0
    extra = max(0, minutes - 60)
    additional = extra // 60 + (1 if extra % 60 > config.additional_hour_over_min else 0)
    return 1, additional


def _iv(facts: SessionFacts, payer: PayerPolicy, config: BillingConfig) -> Suggestion:
    assert facts.dose_mg is not None
    day = facts.service_date
    lines: list[CodeLine] = []
    notes: list[Reason] = []
    minutes = _minutes(facts.dose_start, facts.dose_end)
    if minutes is None:
        notes.append(Reason("BILL-IV-TIMES", "Infusion start or end missing: no administration "
                            "code.", SRC_INFUSION))  # fmt: skip
    else:
        first, additional = infusion_hours(minutes, config)
        timing = Reason("BILL-IV-MINUTES", f"Infusion ran {minutes} min.", SRC_INFUSION)
        if first == 0:
            notes.append(Reason("BILL-IV-SHORT", f"Infusion of {minutes} min is not over "
                                f"{config.infusion_min_minutes} min: not an infusion code.",
                                SRC_INFUSION))  # fmt: skip
        else:
            line = _line("96365", day, 1, payer, [timing])
            if line is not None:
                lines.append(line)
            if additional:
                more = _line("96366", day, additional, payer, [timing])
                if more is not None:
                    lines.append(more)
    units = max(1, math.ceil(facts.dose_mg / config.ketamine_mg_per_unit - 1e-9))
    drug = Reason(
        "BILL-IV-DRUG",
        f"{facts.dose_mg:g} mg ketamine at {config.ketamine_mg_per_unit:g} mg per unit: "
        f"{units} units.",
        SRC_J3490,
    )
    line = _line("J3490", day, units, payer, [drug])
    if line is not None:
        lines.append(line)
    return Suggestion(tuple(lines), tuple(notes))


# --- prior authorisation: units used and alerts ----------------------------------------------

SRC_PRIOR_AUTH: Final = (
    "[S] payers approve units over a date range; clinics track units used and expiry "
    "(rems-billing.md §5; OpenEMR requests #6044, #9030)"
)


@dataclass(frozen=True, slots=True)
class AuthWindow:
    """What a prior authorisation approved (None: not set yet)."""

    codes: frozenset[str]
    approved_units: int | None
    start: date | None
    end: date | None
    status: str = "approved"


@dataclass(frozen=True, slots=True)
class AuthAlertConfig:
    """Lead times of the renewal alerts [U: clinic choice]."""

    expiry_lead_days: int = 14
    units_lead: int = 2


def units_used(window: AuthWindow, sessions: list[tuple[date, tuple[tuple[str, int], ...]]]) -> int:
    """Units of the covered codes billed on sessions inside the window.

    ``sessions``: one (service date, ((code, units), ...)) per signed session; cancelled
    (never signed) sessions are simply not passed.
    """
    total = 0
    for day, lines in sessions:
        if window.start is not None and day < window.start:
            continue
        if window.end is not None and day > window.end:
            continue
        total += sum(units for code, units in lines if code in window.codes)
    return total


def auth_alerts(
    window: AuthWindow, used: int, today: date, config: AuthAlertConfig | None = None
) -> tuple[Reason, ...]:
    """Expiry and renewal alerts of an approved authorisation on ``today``."""
    config = config or AuthAlertConfig()
    if window.status != "approved":
        return ()
    out: list[Reason] = []
    if window.end is not None:
        left = (window.end - today).days
        if left < 0:
            out.append(Reason("AUTH-EXPIRED", f"Expired on {window.end.isoformat()}.",
                              SRC_PRIOR_AUTH))  # fmt: skip
        elif left <= config.expiry_lead_days:
            out.append(Reason("AUTH-EXPIRING", f"Expires on {window.end.isoformat()} "
                              f"({left} days): request a renewal.", SRC_PRIOR_AUTH))  # fmt: skip
    if window.approved_units is not None:
        remaining = window.approved_units - used
        if remaining <= 0:
            out.append(Reason("AUTH-UNITS-USED", f"All {window.approved_units} approved units "
                              f"are used ({used}).", SRC_PRIOR_AUTH))  # fmt: skip
        elif remaining <= config.units_lead:
            text = f"{remaining} of {window.approved_units} approved units left: request a renewal."
            out.append(Reason("AUTH-UNITS-LOW", text, SRC_PRIOR_AUTH))
    return tuple(out)


#: The codes a booked session of each route is expected to use, one unit each (a booking's
#: draw on a prior authorisation before it is charted) [U: the usual session codes; the
#: signed session's confirmed codes are what burns units down].
BOOKING_CODES: Final[dict[str, frozenset[str]]] = {
    "esketamine": ESKETAMINE_SESSION_CODES,
    "iv": frozenset({"96365"}),
}


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """A booked, not yet charted session: ``key`` identifies the booking."""

    key: int
    day: date
    route: Route


def _covers(window: AuthWindow, day: date) -> bool:
    """Whether an approved ``window`` includes ``day`` (an open end covers every day)."""
    after_start = window.start is None or window.start <= day
    before_end = window.end is None or day <= window.end
    return window.status == "approved" and after_start and before_end


def parse_booking_codes(text: str) -> dict[str, frozenset[str]]:
    """A clinic's booking codes from ``route=CODE,CODE;route=CODE`` (empty: the defaults).

    >>> sorted(parse_booking_codes("esketamine=G2082, g2083; iv=96365,96366")["iv"])
    ['96365', '96366']
    >>> parse_booking_codes("")["iv"]
    frozenset({'96365'})
    >>> sorted(parse_booking_codes("iv=96365;")["iv"])
    ['96365']
    >>> parse_booking_codes("oral=X1")
    Traceback (most recent call last):
    ...
    ValueError: booking_codes: unknown route 'oral' (esketamine, iv)
    >>> parse_booking_codes("iv=")
    Traceback (most recent call last):
    ...
    ValueError: booking_codes: iv: list codes such as G2082,G2083
    """
    if not text.strip():
        return dict(BOOKING_CODES)
    out: dict[str, frozenset[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        route, sep, codes = part.partition("=")
        route = route.strip().lower()
        if not sep or route not in BOOKING_CODES:
            raise ValueError(
                f"booking_codes: unknown route {route!r} ({', '.join(sorted(BOOKING_CODES))})"
            )
        found = frozenset(c.strip().upper() for c in codes.split(",") if c.strip())
        if not found or any(not c.isalnum() or len(c) > 8 for c in found):
            raise ValueError(f"booking_codes: {route}: list codes such as G2082,G2083")
        out[route] = found
    return out


def booking_auth_flags(
    auths: list[tuple[AuthWindow, int]],
    visits: list[PlannedVisit],
    booking_codes: Mapping[str, frozenset[str]] = BOOKING_CODES,
) -> dict[int, tuple[Reason, ...]]:
    """Which upcoming bookings go beyond what the patient's prior authorisations approved
    (issue 20.3): ``auths`` are one patient's authorisations with the units their signed
    sessions used; ``visits`` that patient's upcoming bookings.

    In date order each visit takes one unit from the first approved authorisation that covers
    its route and day and has units left. A visit is flagged ``AUTH-BOOKING-DATES`` when no
    approved authorisation covers its day, ``AUTH-BOOKING-UNITS`` when those that do have no
    units left. A route the patient has no authorisation for at all (self-pay, or none
    required) is not flagged.

    >>> w = AuthWindow(frozenset({"G2082"}), 2, date(2026, 1, 1), date(2026, 3, 31))
    >>> v = [PlannedVisit(i, date(2026, 3, 30) + timedelta(days=i), "esketamine") for i in range(3)]
    >>> {k: [r.rule_id for r in rs] for k, rs in booking_auth_flags([(w, 1)], v).items()}
    {1: ['AUTH-BOOKING-UNITS'], 2: ['AUTH-BOOKING-DATES']}
    """
    left = [None if w.approved_units is None else w.approved_units - used for w, used in auths]
    flags: dict[int, tuple[Reason, ...]] = {}
    for visit in sorted(visits, key=lambda v: (v.day, v.key)):
        codes = booking_codes.get(visit.route, frozenset())
        relevant = [i for i, (w, _) in enumerate(auths) if w.codes & codes]
        if not relevant:
            continue
        covering = [i for i in relevant if _covers(auths[i][0], visit.day)]
        if not covering:
            text = "No approved prior authorisation covers this date."
            flags[visit.key] = (Reason("AUTH-BOOKING-DATES", text, SRC_PRIOR_AUTH),)
            continue
        for i in covering:
            remaining = left[i]
            if remaining is None or remaining > 0:
                left[i] = None if remaining is None else remaining - 1
                break
        else:
            text = "Beyond the approved units: the authorisation is used up by then."
            flags[visit.key] = (Reason("AUTH-BOOKING-UNITS", text, SRC_PRIOR_AUTH),)
    return flags
