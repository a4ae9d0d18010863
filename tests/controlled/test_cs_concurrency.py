"""Many nurses drawing from one vial at once never lose an update or go negative (issue 18.8)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.controlled import service
from ketacare.features.controlled.models import CsContainer, CsDraw, CsEvent
from tests.controlled.support import CS, T0, make_site, stock

THREADS = 12
ATTEMPTS = 6  # per thread: 72 draws of 10 mg asked, 50 fit in a 500 mg vial


def test_concurrent_draws_from_one_vial(db: Session, engine: Engine) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    vial_id, nurse_id = vial.id, site.nurse.id
    db.commit()
    factory = session_factory(engine)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def nurse() -> None:
        start.wait()
        for _ in range(ATTEMPTS):
            with factory() as s:
                user = s.get(User, nurse_id)
                assert user is not None
                try:
                    service.append(s, Actor.for_user(user, "api"), CS, T0, vial_id, "draw", 10_000)
                    s.commit()
                    result = "ok"
                except service.LedgerRefused as err:
                    s.rollback()
                    result = err.reasons[0].rule_id
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=nurse) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == THREADS * ATTEMPTS
    assert outcomes.count("ok") == 50
    assert set(outcomes) == {"ok", "CS-BAL"}
    db.expire_all()
    c = db.get(CsContainer, vial_id)
    assert c is not None and c.balance_ug == 0 and c.seq == 51
    seqs = db.execute(
        select(CsEvent.seq).where(CsEvent.container_id == vial_id).order_by(CsEvent.seq)
    ).scalars()
    assert list(seqs) == list(range(1, 52))
    drawn = db.execute(select(func.sum(CsDraw.drawn_ug))).scalar_one()
    assert drawn == 500_000
    db.commit()
