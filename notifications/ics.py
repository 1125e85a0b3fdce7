"""A single all-day iCalendar event (RFC 5545) for a placement's period; no library needed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def escape_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines are escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = " " + char
            limit = 75
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def organizer(name: str, email: str) -> str:
    """``ORGANIZER;CN="Sara Lind":mailto:sara.lind@univ.example``: the name quoted (a quoted
    parameter value holds no DQUOTE and no control character)."""
    cn = "".join(c for c in name if c != '"' and c.isprintable())
    return f'ORGANIZER;CN="{cn}":mailto:{email}'


def placement_event(
    *,
    uid: str,
    start: date,
    end: date,
    summary: str,
    description: str,
    location: str,
    stamp: datetime,
    sequence: int,
    organizer_name: str,
    organizer_email: str,
    url: str,
) -> str:
    """An all-day VEVENT from ``start`` to ``end`` inclusive (DTEND is exclusive in iCalendar).
    ``sequence`` grows with each amendment of the terms, so a calendar that holds the event
    replaces it; the organizer is the programme's coordinator."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Mobility Engine//placements//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"SEQUENCE:{sequence}",
        organizer(organizer_name, organizer_email),
        f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
        f"DTEND;VALUE=DATE:{end + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(location)}",
        f"URL:{url}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
