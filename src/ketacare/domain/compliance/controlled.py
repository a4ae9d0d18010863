"""Controlled-substance container ledger: the one place its invariants are checked (pure).

Every vial and nasal-spray device (a *container*) has a running balance in micrograms (an
integer: sums are exact; the mL a page shows is the balance divided by the concentration).
Events change it; :func:`check` says whether an event may be appended to a container in a
given state and :func:`apply` returns the state after it. The database enforces the same
invariants again (CHECK constraints and triggers, migration 0014), so a writer that bypasses
this module still cannot break them.

Invariants (21 CFR 1304.22(c); controlled-substances.md §3, §6, §8):

* CS-BAL: a container's balance is never below zero.
* CS-DRAW: for each draw, administered + wasted + returned never exceeds drawn, and a draw
  is *settled* when they are equal (a session is signed only with every draw settled).
* CS-CLOSED: no event on a closed container; a container closes only with every draw settled.
* CS-CORR: events are never changed; a correction is a new event that reverses one earlier
  event (each event is reversed at most once; a correction itself is not reversed).
* CS-WIT: waste needs a witness (configurable, default required); breakage/spill always
  needs a second signature (DEA NTP spill guidance, the model for §6).

>>> s = ContainerState(balance_ug=500_000)
>>> s = apply(s, Event("draw", 100_000, event_id=1))
>>> s = apply(s, Event("administer", 80_000, draw_id=1))
>>> check(s, Event("waste", 30_000, draw_id=1, witnessed=True))[0].rule_id
'CS-DRAW'
>>> apply(s, Event("waste", 20_000, draw_id=1, witnessed=True)).draws[1].settled
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final, Literal

from ketacare.domain.rules import Reason

__all__ = [
    "ContainerState",
    "DrawState",
    "Event",
    "LedgerError",
    "Policy",
    "Reason",
    "SessionLedger",
    "apply",
    "check",
    "delta",
    "loss_deadlines",
    "mg_to_ug",
    "session_sign_reasons",
]

SRC_RECORDS: Final = (
    "21 CFR 1304.22(c): perpetual record of each quantity (controlled-substances.md §3)"
)
SRC_WASTE: Final = (
    "Wastage recorded and destroyed on site; witness per institutional/state rules, "
    "default required [S] (controlled-substances.md §6)"
)
SRC_SPILL: Final = (
    "DEA NTP guidance: spillage signed by employee and witness (controlled-substances.md §6)"
)
SRC_POLICY: Final = "ketacare policy: records are never changed, corrected by new events (§8)"

EventKind = Literal[
    "receive",  # opening balance of a new container (receipt or transfer in)
    "draw",  # to a syringe/bag for a session (leaves the container)
    "administer",  # from a draw, to the patient (linked to the session's charted dose)
    "waste",  # from a draw, destroyed on site (method, witness)
    "return",  # from a draw back into the container (stock)
    "breakage",  # spill/breakage from the container (two signatures)
    "expire",  # the container is past its expiry: quarantined, no draws
    "transfer",  # the whole remaining container to another registration (closes it here)
    "dispose",  # reverse distributor / DEA Form 41 (takes the balance, closes)
    "close",  # an empty container is closed
    "correction",  # reverses one earlier event
]
KINDS: Final[tuple[str, ...]] = (
    "receive", "draw", "administer", "waste", "return", "breakage", "expire", "transfer",
    "dispose", "close", "correction",
)  # fmt: skip
#: Events that act on a draw (syringe) rather than on the container's stock.
DRAW_KINDS: Final = frozenset({"administer", "waste", "return"})
#: Events that close the container.
CLOSING_KINDS: Final = frozenset({"transfer", "dispose", "close"})
Status = Literal["open", "quarantined", "closed"]


@dataclass(frozen=True, slots=True)
class DrawState:
    """What became of one draw (micrograms)."""

    drawn: int
    administered: int = 0
    wasted: int = 0
    returned: int = 0

    @property
    def accounted(self) -> int:
        """Administered + wasted + returned."""
        return self.administered + self.wasted + self.returned

    @property
    def outstanding(self) -> int:
        """Drawn but not yet administered, wasted or returned."""
        return self.drawn - self.accounted

    @property
    def settled(self) -> bool:
        """Administered + wasted + returned = drawn (CS-DRAW)."""
        return self.outstanding == 0


@dataclass(frozen=True, slots=True)
class ContainerState:
    """A container as the ledger sees it: balance, status, its draws, its past events.

    ``events`` maps each event id to ``(kind, qty_ug, draw_id, corrected)`` so that a
    correction can be checked and reversed.
    """

    balance_ug: int = 0
    status: Status = "open"
    draws: MappingProxyType[int, DrawState] = field(default_factory=lambda: MappingProxyType({}))
    events: MappingProxyType[int, tuple[str, int, int | None, bool]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def unsettled(self) -> list[int]:
        """Ids of draws not yet fully accounted for."""
        return [k for k, d in self.draws.items() if not d.settled]


@dataclass(frozen=True, slots=True)
class Event:
    """An event to append. ``qty_ug`` >= 0; ``event_id`` is the id it will get (for draws).

    ``draw_id`` names the draw an administer/waste/return acts on; ``corrects`` the event a
    correction reverses. ``witnessed`` / ``second_signature``: a different user
    re-authenticated for it.
    """

    kind: str
    qty_ug: int = 0
    event_id: int | None = None
    draw_id: int | None = None
    corrects: int | None = None
    witnessed: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """Configurable rules (state boards differ)."""

    waste_witness_required: bool = True


def _r(rule: str, text: str, source: str = SRC_RECORDS) -> Reason:
    return Reason(rule, text, source)


def delta(state: ContainerState, event: Event) -> int:
    """The change the event makes to the container's balance (micrograms, signed)."""
    kind = event.kind
    if kind in ("receive", "return"):
        return event.qty_ug
    if kind in ("draw", "breakage"):
        return -event.qty_ug
    if kind in ("transfer", "dispose"):
        return -state.balance_ug
    if kind == "correction" and event.corrects is not None and event.corrects in state.events:
        old_kind, old_qty, _, _ = state.events[event.corrects]
        if old_kind in ("receive", "return"):
            return -old_qty
        if old_kind in ("draw", "breakage"):
            return old_qty
    return 0


def check(state: ContainerState, event: Event, policy: Policy = Policy()) -> list[Reason]:
    """Every reason ``event`` may not be appended to a container in ``state`` (empty: allowed)."""
    kind, qty = event.kind, event.qty_ug
    if kind not in KINDS:
        return [_r("CS-KIND", f"unknown event kind {kind!r}")]
    if qty < 0:
        return [_r("CS-QTY", "a quantity is never negative")]
    if state.status == "closed":
        return [_r("CS-CLOSED", "the container is closed; no further events")]
    reasons: list[Reason] = []
    if kind in ("draw", "breakage", "receive", "return", "administer", "waste") and qty == 0:
        reasons.append(_r("CS-QTY", "the quantity must be more than zero"))
    if kind == "draw" and state.status != "open":
        reasons.append(_r("CS-QUAR", "the container is expired (quarantined): no draws"))
    if kind in DRAW_KINDS:
        draw = state.draws.get(event.draw_id) if event.draw_id is not None else None
        if draw is None:
            reasons.append(_r("CS-DRAW", f"{kind} must name a draw from this container"))
        elif qty > draw.outstanding:
            reasons.append(
                _r("CS-DRAW", f"{kind} of {fmt_mg(qty)} exceeds the {fmt_mg(draw.outstanding)} "
                   "still outstanding from the draw (administered + wasted + returned = drawn)")
            )  # fmt: skip
    if kind == "waste" and policy.waste_witness_required and not event.witnessed:
        reasons.append(_r("CS-WIT", "waste needs a witness who re-authenticates", SRC_WASTE))
    if kind == "breakage" and not event.witnessed:
        reasons.append(_r("CS-WIT", "breakage/spill needs a second signature", SRC_SPILL))
    if kind in CLOSING_KINDS and state.unsettled:
        reasons.append(
            _r("CS-CLOSED", "settle every draw (administer, waste or return) before closing")
        )
    if kind == "close" and state.balance_ug != 0:
        reasons.append(_r("CS-CLOSED", "only an empty container is closed; dispose of stock"))
    if kind == "expire" and state.status != "open":
        reasons.append(_r("CS-QUAR", "the container is already quarantined"))
    if kind == "correction":
        reasons += _check_correction(state, event)
    if kind == "receive" and state.events:
        reasons.append(_r("CS-KIND", "a container is received once"))
    if not reasons and state.balance_ug + delta(state, event) < 0:
        reasons.append(
            _r("CS-BAL", f"the balance would fall below zero ({fmt_mg(state.balance_ug)} left)")
        )
    return reasons


def _check_correction(state: ContainerState, event: Event) -> list[Reason]:
    old = state.events.get(event.corrects) if event.corrects is not None else None
    if old is None:
        return [_r("CS-CORR", "a correction must name an event of this container", SRC_POLICY)]
    old_kind, _, _, corrected = old
    if corrected:
        return [_r("CS-CORR", "that event was already corrected", SRC_POLICY)]
    if old_kind not in ("draw", "breakage", "return", "administer", "waste"):
        return [_r("CS-CORR", f"a {old_kind} event is not corrected; record a new one", SRC_POLICY)]
    if old_kind == "draw":
        draw = state.draws.get(event.corrects)  # type: ignore[arg-type]
        if draw is not None and draw.accounted:
            return [_r("CS-CORR", "correct the draw's administer/waste/return first", SRC_POLICY)]
    return []


def apply(state: ContainerState, event: Event, policy: Policy = Policy()) -> ContainerState:
    """The state after ``event``; raises :class:`LedgerError` if :func:`check` refuses it."""
    reasons = check(state, event, policy)
    if reasons:
        raise LedgerError(reasons)
    draws = dict(state.draws)
    events = dict(state.events)
    status: Status = state.status
    kind = event.kind
    if kind == "draw" and event.event_id is not None:
        draws[event.event_id] = DrawState(drawn=event.qty_ug)
    if kind in DRAW_KINDS and event.draw_id is not None:
        draws[event.draw_id] = _add(draws[event.draw_id], kind, event.qty_ug)
    if kind == "correction" and event.corrects is not None:
        old_kind, old_qty, old_draw, _ = events[event.corrects]
        events[event.corrects] = (old_kind, old_qty, old_draw, True)
        if old_kind == "draw":
            draws.pop(event.corrects, None)
        elif old_kind in DRAW_KINDS and old_draw is not None:
            draws[old_draw] = _add(draws[old_draw], old_kind, -old_qty)
    if kind == "expire":
        status = "quarantined"
    if kind in CLOSING_KINDS:
        status = "closed"
    if event.event_id is not None:
        events[event.event_id] = (kind, event.qty_ug, event.draw_id, kind == "correction")
    return ContainerState(
        balance_ug=state.balance_ug + delta(state, event),
        status=status,
        draws=MappingProxyType(draws),
        events=MappingProxyType(events),
    )


def _add(draw: DrawState, kind: str, qty: int) -> DrawState:
    if kind == "administer":
        return replace(draw, administered=draw.administered + qty)
    if kind == "waste":
        return replace(draw, wasted=draw.wasted + qty)
    return replace(draw, returned=draw.returned + qty)


class LedgerError(ValueError):
    """An event the ledger refuses; ``reasons`` lists why."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("; ".join(r.text for r in reasons))
        self.reasons = reasons


# --- quantities ------------------------------------------------------------------------------


def mg_to_ug(value: str | float | Decimal) -> int:
    """Milligrams (up to 3 decimals) to integer micrograms; ValueError if not a quantity.

    >>> mg_to_ug("12.5")
    12500
    """
    try:
        mg = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if not mg.is_finite() or mg < 0 or mg > 1_000_000:
        raise ValueError("must be between 0 and 1,000,000 mg")
    ug = mg * 1000
    if ug != ug.to_integral_value():
        raise ValueError("at most 3 decimals (micrograms)")
    return int(ug)


def fmt_mg(ug: int) -> str:
    """Micrograms as "12.5 mg" (trailing zeros of the fraction only).

    >>> fmt_mg(12_500), fmt_mg(50_000), fmt_mg(-500), fmt_mg(100), fmt_mg(0)
    ('12.5 mg', '50 mg', '-0.5 mg', '0.1 mg', '0 mg')
    """
    text = f"{Decimal(ug) / 1000:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} mg"


def ml(ug: int, mg_per_ml: float | None) -> float | None:
    """The volume of ``ug`` at ``mg_per_ml`` (None for devices without a concentration)."""
    if not mg_per_ml:
        return None
    return round(ug / 1000 / mg_per_ml, 3)


# --- charting link ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionLedger:
    """What the ledger holds for one session (micrograms)."""

    drawn: int = 0
    administered: int = 0
    unsettled_draws: int = 0
    device_lots: tuple[str, ...] = ()
    devices: int = 0


def session_sign_reasons(
    route: str, given_dose_mg: float | None, devices: int | None, lot: str, ledger: SessionLedger
) -> list[Reason]:
    """Why a session may not be signed yet, against the controlled-substance ledger.

    IV/IM ketamine: every draw settled and the administered total equal to the charted dose
    (to the microgram). Esketamine: the devices administered from the ledger match the
    charted device count and the charted lot(s).
    """
    out: list[Reason] = []
    src = "ketacare policy: the chart and the controlled-substance record agree (§8)"
    if ledger.unsettled_draws:
        out.append(
            Reason("CS-CHART-DRAW", "a draw for this session is not fully administered, "
                   "wasted or returned", src)
        )  # fmt: skip
    if route == "esketamine":
        if devices and ledger.devices != devices:
            out.append(
                Reason("CS-CHART-DEV", f"{devices} device(s) charted but {ledger.devices} "
                       "administered from the ledger", src)
            )  # fmt: skip
        charted = {p for p in lot.replace(";", ",").replace(" ", ",").split(",") if p}
        if charted and ledger.device_lots and charted != set(ledger.device_lots):
            out.append(
                Reason("CS-CHART-LOT", "charted lot(s) " + ", ".join(sorted(charted))
                       + " differ from the ledger's " + ", ".join(ledger.device_lots), src)
            )  # fmt: skip
        return out
    dose = mg_to_ug(round(given_dose_mg, 3)) if given_dose_mg is not None else 0
    if ledger.administered != dose:
        out.append(
            Reason("CS-CHART-DOSE", f"charted dose {fmt_mg(dose)} but the ledger shows "
                   f"{fmt_mg(ledger.administered)} administered for this session", src)
        )  # fmt: skip
    return out


# --- theft or significant loss (21 CFR 1301.76(b), 2023 Form 106 rule) -------------------------

SRC_LOSS: Final = (
    "21 CFR 1301.76(b): written notice to the DEA Field Division within one business day of "
    "discovery; DEA Form 106 within 45 days (controlled-substances.md §7)"
)


def next_business_day(day: date) -> date:
    """The first weekday after ``day`` (federal holidays are not skipped: [U], check them).

    >>> next_business_day(date(2026, 3, 6)).isoformat()  # a Friday
    '2026-03-09'
    """
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt


def loss_deadlines(discovered: date) -> tuple[date, date]:
    """(notice due, Form 106 due) for a theft or significant loss discovered on ``discovered``
    (the clinic's local date)."""
    return next_business_day(discovered), discovered + timedelta(days=45)
