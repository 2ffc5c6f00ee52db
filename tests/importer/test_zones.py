"""TZIDs to IANA names: IANA as is, Windows names by CLDR, other names by their VTIMEZONE's rules."""

from __future__ import annotations

import icalendar

from pipeline.importer.zones import Zones, iana_name

US_RULES = """BEGIN:STANDARD
DTSTART:16011104T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010311T020000
RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
END:DAYLIGHT"""


def zones_of(*definitions: tuple[str, str]) -> Zones:
    blocks = "\n".join(f"BEGIN:VTIMEZONE\nTZID:{tzid}\n{rules}\nEND:VTIMEZONE"
                       for tzid, rules in definitions)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n{blocks}\nEND:VCALENDAR\n"
    return Zones(icalendar.Calendar.from_ical(text.replace("\n", "\r\n")))


def test_iana_names_also_behind_vendor_prefixes():
    assert iana_name("Europe/Berlin") == "Europe/Berlin"
    assert iana_name('"/mozilla.org/20050126_1/America/Argentina/Buenos_Aires"') == \
        "America/Argentina/Buenos_Aires"
    assert iana_name("Z") == "UTC" and iana_name("Pacific Standard Time") is None


def test_windows_names_use_cldr_when_the_definition_agrees():
    zones = zones_of(("Pacific Standard Time", US_RULES))
    assert zones.resolve("Pacific Standard Time", 2025)[0] == "America/Los_Angeles"
    assert zones_of().resolve("Tokyo Standard Time", 2025)[0] == "Asia/Tokyo"


def test_a_custom_name_takes_the_place_its_rules_and_name_point_to():
    zone, note = zones_of(("Pacific Time", US_RULES)).resolve("Pacific Time", 2025)
    assert zone == "America/Los_Angeles"  # no city named: CLDR's zone, not a link
    assert note and "America/Los_Angeles" in note and "US/Pacific" not in note
    zone, _ = zones_of(("Vancouver time", US_RULES)).resolve("Vancouver time", 2025)
    assert zone == "America/Vancouver"  # a city in the name wins among equal rules


def test_rules_that_switch_at_another_hour_of_the_same_day_match_no_zone():
    # UK offsets, but switching at 02:00 UTC instead of 01:00 UTC: equal at every noon.
    odd = """BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
END:DAYLIGHT"""
    zone, note = zones_of(("Almost London", odd)).resolve("Almost London", 2025)
    assert zone is None and "matches no IANA zone" in note  # type: ignore[operator]


def test_an_unknown_name_without_definition_is_refused_with_the_reason():
    zone, note = zones_of().resolve("Somewhere Else", 2025)
    assert zone is None and "defines no VTIMEZONE" in note  # type: ignore[operator]
