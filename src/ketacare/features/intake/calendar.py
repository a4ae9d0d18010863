"""iCalendar (RFC 5545) export of a course schedule, built with the ``icalendar`` library.

Each session is a timed ``VEVENT`` when a start time and zone are given (``DTSTART`` and
``DTEND`` as UTC instants, computed from the clinic's local wall-clock time so a calendar in
any zone shows the right hour, DST included; ``LOCATION`` the clinic), else an all-day event
(``DTSTART;VALUE=DATE``). The library folds lines, escapes TEXT values and ends lines in CRLF.
``dtstamp`` is passed in so the output is deterministic. No patient identifiers are written.
(Was the hand-written ``domain/course/ics.py``; issue 17.5.)
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from icalendar import Calendar, Event

from ketacare.domain.course.scheduling import Schedule


def schedule_to_ics(
    schedule: Schedule,
    dtstamp: datetime,
    *,
    uid_domain: str = "ketacare.invalid",
    title: str = "Treatment session",
    start_time: time | None = None,
    tz: tzinfo | None = None,
    duration: timedelta = timedelta(hours=2),
    location: str = "",
) -> str:
    """Return the schedule as an RFC 5545 ``VCALENDAR`` string.

    ``dtstamp`` is written as ``DTSTAMP`` (converted to UTC; naive means UTC); ``uid_domain``
    is the right-hand side of each ``UID``; with both ``start_time`` and ``tz`` (the clinic's
    local wall-clock start and zone) events are timed and ``duration`` long, else all-day;
    ``location`` (the clinic's name and address) is omitted when empty.
    """
    stamp = (dtstamp if dtstamp.tzinfo else dtstamp.replace(tzinfo=UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", "-//ketacare//course schedule//EN")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    for s in schedule.sessions:
        event = Event()
        event.add("uid", f"{schedule.protocol_id}-{schedule.start:%Y%m%d}-{s.number}@{uid_domain}")
        event.add("dtstamp", stamp)
        if start_time is not None and tz is not None:
            begin = datetime.combine(s.day, start_time, tzinfo=tz).astimezone(UTC)
            event.add("dtstart", begin)
            event.add("dtend", begin + duration)
        else:
            event.add("dtstart", s.day)
            event.add("dtend", s.day + timedelta(days=1))
        event.add("summary", f"{title} {s.number}/{len(schedule.sessions)} ({s.phase})")
        event.add(
            "description",
            f"Protocol {schedule.protocol_id} v{schedule.protocol_version}; "
            f"planned dose {s.dose_label}",
        )
        if location:
            event.add("location", location)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    text: str = cal.to_ical().decode("utf-8")
    return text
