"""Random event sequences never break a balance (issue 18.3): the pure rules as a hypothesis
state machine, and the same operations through the service on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as cs
from ketacare.features.controlled import service
from ketacare.features.controlled.models import CsDraw, CsEvent
from tests.controlled.support import CS, T0, make_site, stock, witness_of

FULL = 500_000
QTY = st.integers(min_value=0, max_value=FULL + 50_000)


class Ledger(RuleBasedStateMachine):
    """Any sequence of events, allowed or refused, keeps every invariant of the ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.state = cs.apply(cs.ContainerState(), cs.Event("receive", FULL, event_id=1))
        self.next_id = 2
        self.deltas = [FULL]

    def _try(self, event: cs.Event) -> None:
        before = self.state
        reasons = cs.check(before, event)
        if reasons:
            with pytest.raises(cs.LedgerError) as err:
                cs.apply(before, event)
            assert err.value.reasons == reasons
            return
        after = cs.apply(before, event)
        self.deltas.append(after.balance_ug - before.balance_ug)
        assert after.balance_ug - before.balance_ug == cs.delta(before, event)
        self.state = after
        self.next_id += 1

    @rule(qty=QTY)
    def draw(self, qty: int) -> None:
        self._try(cs.Event("draw", qty, event_id=self.next_id))

    @rule(kind=st.sampled_from(["administer", "waste", "return"]), qty=QTY, pick=st.integers(0, 50),
          witnessed=st.booleans())  # fmt: skip
    def settle(self, kind: str, qty: int, pick: int, witnessed: bool) -> None:
        ids = sorted(self.state.draws) or [999]
        draw_id = ids[pick % len(ids)]
        self._try(cs.Event(kind, qty, event_id=self.next_id, draw_id=draw_id, witnessed=witnessed))

    @rule(qty=QTY, witnessed=st.booleans())
    def breakage(self, qty: int, witnessed: bool) -> None:
        self._try(cs.Event("breakage", qty, event_id=self.next_id, witnessed=witnessed))

    @rule(pick=st.integers(0, 200))
    def correct(self, pick: int) -> None:
        target = pick % self.next_id + 1
        self._try(cs.Event("correction", event_id=self.next_id, corrects=target))

    @precondition(lambda self: self.state.status != "closed")
    @rule(kind=st.sampled_from(["expire", "dispose", "close"]))
    def end(self, kind: str) -> None:
        self._try(cs.Event(kind, event_id=self.next_id))

    @invariant()
    def balance_never_negative_and_is_the_sum_of_its_events(self) -> None:
        assert 0 <= self.state.balance_ug <= FULL
        assert self.state.balance_ug == sum(self.deltas)

    @invariant()
    def no_draw_over_accounted(self) -> None:
        for d in self.state.draws.values():
            assert 0 <= d.accounted <= d.drawn
            assert min(d.administered, d.wasted, d.returned) >= 0

    @invariant()
    def a_closed_container_has_no_open_draw(self) -> None:
        if self.state.status == "closed":
            assert not self.state.unsettled


TestLedgerMachine = Ledger.TestCase
TestLedgerMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

OPS = st.lists(
    st.tuples(
        st.sampled_from(["draw", "administer", "waste", "return", "breakage", "correction"]),
        st.integers(min_value=1, max_value=200_000),
        st.integers(min_value=0, max_value=30),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_random_sequences_through_the_database_keep_the_balance(
    db: Session, ops: list[tuple[str, int, int]]
) -> None:
    site = _site(db)
    (vial,) = stock(db, site, containers=1)
    w = witness_of(db, site)
    ids: list[int] = []
    for kind, qty, pick in ops:
        kw: dict[str, Any] = {}
        if kind in ("administer", "waste", "return"):
            draws = db.execute(select(CsDraw.id).where(CsDraw.container_id == vial.id)).scalars()
            found = list(draws)
            kw["draw_id"] = found[pick % len(found)] if found else None
            kw["method"] = "Rx Destroyer"
        if kind in ("waste", "breakage"):
            kw["witnessed_by"] = w
        if kind in ("breakage", "correction"):
            kw["note"] = "test"
        if kind == "correction":
            if not ids:
                continue
            kw["corrects"] = ids[pick % len(ids)]
            qty = 0
        try:
            with db.begin_nested():
                ev = service.append(db, site.actor(), CS, T0, vial.id, kind, qty, **kw)
                ids.append(ev.id)
        except service.LedgerRefused:
            pass
        db.refresh(vial)
        total = db.execute(
            select(func.coalesce(func.sum(CsEvent.delta_ug), 0)).where(
                CsEvent.container_id == vial.id
            )
        ).scalar_one()
        assert vial.balance_ug == total >= 0
        for d in db.execute(select(CsDraw).where(CsDraw.container_id == vial.id)).scalars():
            assert d.administered_ug + d.wasted_ug + d.returned_ug <= d.drawn_ug
    db.commit()


_SITES: dict[int, Any] = {}


def _site(db: Session) -> Any:
    """One site per database per test run (hypothesis reuses the function-scoped fixtures)."""
    from ketacare.features.controlled.models import CsRegistration

    reg = db.execute(select(CsRegistration)).scalars().first()
    key = id(db.get_bind())
    if reg is not None and key in _SITES:
        return _SITES[key]
    _SITES[key] = make_site(db)
    return _SITES[key]
