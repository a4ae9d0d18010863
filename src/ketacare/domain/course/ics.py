"""iCalendar (RFC 5545) export of a course schedule, written by hand (no I/O, no deps).

Each session is a timed ``VEVENT`` when a start time and zone are given (``DTSTART`` and
``DTEND`` as UTC instants, computed from the clinic's local wall-clock time so a calendar in
any zone shows the right hour, DST included; ``LOCATION`` the clinic), else an all-day event
(``DTSTART;VALUE=DATE``). Lines end in CRLF and are
folded at 75 octets (RFC 5545 §3.1); TEXT values escape backslash, semicolon, comma and
newline (§3.3.11). ``dtstamp`` is passed in so the output is deterministic. No patient
identifiers are written.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from ketacare.domain.course.scheduling import Schedule


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    out: list[str] = []
    cur, size = "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines start with a space
        if size + n > limit:
            out.append(cur)
            cur, size = "", 0
        cur += ch
        size += n
    out.append(cur)
    return "\r\n ".join(out)


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

    Parameters
    ----------
    schedule : Schedule
    dtstamp : datetime
        Creation time written as ``DTSTAMP`` (converted to UTC; naive means UTC).
    uid_domain : str
        Right-hand side of each ``UID``.
    title : str
        Event summary prefix.
    start_time, tz : time, tzinfo
        Local wall-clock start of each session in the clinic's zone; with both, events are
        timed (written in UTC); without, all-day.
    duration : timedelta
        Length of a timed event.
    location : str
        ``LOCATION`` of each event (the clinic's name and address), omitted when empty.
    """
    stamp = (dtstamp if dtstamp.tzinfo else dtstamp.replace(tzinfo=UTC)).astimezone(UTC)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ketacare//course schedule//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for s in schedule.sessions:
        uid = f"{schedule.protocol_id}-{schedule.start:%Y%m%d}-{s.number}@{uid_domain}"
        summary = f"{title} {s.number}/{len(schedule.sessions)} ({s.phase})"
        desc = (
            f"Protocol {schedule.protocol_id} v{schedule.protocol_version}; "
            f"planned dose {s.dose_label}"
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
        ]
        if start_time is not None and tz is not None:
            begin = datetime.combine(s.day, start_time, tzinfo=tz).astimezone(UTC)
            lines += [
                f"DTSTART:{begin:%Y%m%dT%H%M%SZ}",
                f"DTEND:{begin + duration:%Y%m%dT%H%M%SZ}",
            ]
        else:
            lines += [
                f"DTSTART;VALUE=DATE:{s.day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{s.day + timedelta(days=1):%Y%m%d}",
            ]
        lines += [
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(desc)}",
        ]
        if location:
            lines.append(f"LOCATION:{_escape(location)}")
        lines += [
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
