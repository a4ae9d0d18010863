"""Private calendar (ICS) feeds: a site's bookings, a clinician's shifts, built with the
``icalendar`` library. A feed is read through an unguessable token in its URL (only an HMAC
of it is stored); revoking it makes the URL answer 404. Feeds carry no patient data: a
booking is "Chair 2: IV (booking 123)" with a link to the day view."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.scheduling import queries
from ketacare.features.scheduling.models import (
    HOLDING,
    Booking,
    CalendarFeed,
    Site,
    StaffShift,
)

PAST = timedelta(days=7)
AHEAD = timedelta(days=120)


def feed_hash(secret: str, token: str) -> str:
    """HMAC-SHA256 of a feed token under the secret key."""
    return hmac.new(secret.encode(), f"ics:{token}".encode(), hashlib.sha256).hexdigest()


def create_feed(
    db: Session, actor: Actor, secret: str, site_id: int | None
) -> tuple[CalendarFeed, str]:
    """A new feed of a site (``site_id``) or of the acting user's shifts; returns the token
    (shown once)."""
    assert actor.clinic_id is not None
    if site_id is not None:
        try:
            queries.get_site(db, actor.clinic_id, site_id)
        except NotFound:
            raise BadRequest("no such site in your clinic", "site_id") from None
        user_id = None
    else:
        if actor.user is None:
            raise BadRequest("a personal feed needs a user", "site_id")
        user_id = actor.user.id
    token = secrets.token_urlsafe(24)
    feed = CalendarFeed(
        clinic_id=actor.clinic_id,
        user_id=user_id,
        site_id=site_id,
        token_hash=feed_hash(secret, token),
    )
    db.add(feed)
    db.flush()
    record(db, actor, "create", "sched_feed", feed.id)
    return feed, token


def list_feeds(db: Session, actor: Actor) -> Sequence[CalendarFeed]:
    """The clinic's feeds (admins), else its site feeds and the user's own shift feeds."""
    assert actor.clinic_id is not None
    stmt = select(CalendarFeed).where(CalendarFeed.clinic_id == actor.clinic_id)
    if actor.user is None or actor.user.role.value != "admin":
        # Staff see (and may revoke) the site feeds and their own shift feeds.
        stmt = stmt.where(
            (CalendarFeed.user_id == actor.user_id) | CalendarFeed.site_id.is_not(None)
        )
    return db.scalars(stmt.order_by(CalendarFeed.id)).all()


def revoke_feed(db: Session, actor: Actor, feed_id: int, now: datetime) -> CalendarFeed:
    """Revoke a feed (its URL answers 404 from now on): a site feed or one's own shift feed;
    admins any."""
    feed = next((f for f in list_feeds(db, actor) if f.id == feed_id), None)
    if feed is None:
        raise NotFound("no such feed", "feed_id")
    if feed.revoked_at is None:
        feed.revoked_at = now
        db.flush()
        record(db, actor, "update", "sched_feed", feed.id)
    return feed


def render_feed(db: Session, secret: str, token: str, now: datetime, base_url: str) -> bytes:
    """The ICS text of the feed of ``token`` (404 for an unknown or revoked one)."""
    if not 10 <= len(token) <= 100:
        raise NotFound("no such calendar")
    feed = db.scalars(
        select(CalendarFeed).where(CalendarFeed.token_hash == feed_hash(secret, token))
    ).one_or_none()
    if feed is None or feed.revoked_at is not None:
        raise NotFound("no such calendar")
    cal = Calendar()
    cal.add("prodid", "-//ketacare//scheduling//EN")
    cal.add("version", "2.0")
    lo, hi = now - PAST, now + AHEAD
    if feed.site_id is not None:
        site = db.get(Site, feed.site_id)
        assert site is not None
        cal.add("x-wr-calname", f"{site.name}: bookings")
        chairs = {c.id: c.name for c in queries.list_chairs(db, site.id)}
        rows = db.scalars(
            select(Booking)
            .where(
                Booking.site_id == site.id,
                Booking.status.in_(HOLDING),
                Booking.starts_at >= lo,
                Booking.starts_at < hi,
            )
            .order_by(Booking.starts_at)
        ).all()
        for b in rows:
            event = Event()
            event.add("uid", f"booking-{b.id}@ketacare")
            event.add("dtstamp", now)
            event.add("dtstart", b.starts_at)
            event.add("dtend", b.ends_at)
            event.add(
                "summary",
                f"{chairs.get(b.chair_id, 'Chair')}: {b.kind.value.upper()} (booking {b.id})",
            )
            event.add("url", f"{base_url}/scheduling/sites/{site.id}/day")
            cal.add_component(event)
    else:
        cal.add("x-wr-calname", "My shifts")
        shifts = db.scalars(
            select(StaffShift)
            .where(
                StaffShift.user_id == feed.user_id,
                StaffShift.starts_at >= lo,
                StaffShift.starts_at < hi,
            )
            .order_by(StaffShift.starts_at)
        ).all()
        for s in shifts:
            site = db.get(Site, s.site_id)
            event = Event()
            event.add("uid", f"shift-{s.id}@ketacare")
            event.add("dtstamp", now)
            event.add("dtstart", s.starts_at)
            event.add("dtend", s.ends_at)
            event.add("summary", f"On shift at {site.name if site else 'site'} ({s.role.value})")
            cal.add_component(event)
    body: bytes = cal.to_ical()
    return body
