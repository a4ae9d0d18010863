"""iCalendar (RFC 5545) export of a course schedule, written by hand (no I/O, no deps).

Each session is an all-day ``VEVENT`` (``DTSTART;VALUE=DATE``). Lines end in CRLF and are
folded at 75 octets (RFC 5545 §3.1); TEXT values escape backslash, semicolon, comma and
newline (§3.3.11). ``dtstamp`` is passed in so the output is deterministic. No patient
identifiers are written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketacare.domain.scheduling import Schedule


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
            f"DTSTART;VALUE=DATE:{s.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{s.day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(desc)}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
