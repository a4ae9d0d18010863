"""Periodic job: deliver stored claims to the clearinghouse adapter (the file drop)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ketacare.features.auth.actor import Actor
from ketacare.features.billing import claims
from ketacare.features.billing.adapters import Clearinghouse, FileDrop
from ketacare.settings import Settings

log = logging.getLogger(__name__)


def adapter(settings: Settings) -> Clearinghouse:
    """The installation's clearinghouse adapter: a file drop under ``<data_dir>/claims``."""
    return FileDrop(settings.data_dir / "claims")


def run(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Deliver every claim not yet delivered (one transaction); returns how many.

    ``now`` is the runner's clock (unused: delivery has no time rule).
    """
    del now
    with sessions() as db:
        count = claims.deliver_pending(db, adapter(settings), Actor.job("billing-deliver"))
        db.commit()
    if count:
        log.info("delivered %d claim file(s)", count)
    return count
