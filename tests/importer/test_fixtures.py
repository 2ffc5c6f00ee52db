"""Each exporter's calendar imports to files `pipeline check` accepts, with the same occurrences."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from ical_occurrences import of_files, of_source

from pipeline.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
# fixture -> extra options (floating times need a zone)
SOURCES = {
    "google.ics": [], "outlook.ics": [], "apple.ics": [], "thunderbird.ics": [],
    "nextcloud.ics": [], "discourse.ics": [], "wordpress.ics": [], "meetup.ics": [],
    "floating.ics": ["--timezone", "Europe/Berlin"],
}

# Occurrences that differ, each named in a note.
EXPECTED_DIFFERENCES = {"nextcloud.ics": 1}  # RDATE 2025-07-02: a series here is one RRULE


def run_import(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["import", *args])
    return result.exit_code, result.stdout, result.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}


@pytest.mark.parametrize("name", SOURCES)
def test_fixture_imports_to_the_same_occurrences_every_difference_reported(tmp_path, name):
    events = tmp_path / "events"
    code, report, errors = run_import(str(FIXTURES / name), "--events", str(events), *SOURCES[name])
    assert code == 0, errors
    check = CliRunner().invoke(cli, ["check", "--events", str(events), "--newsletters",
                                     str(tmp_path / "none")])
    assert check.exit_code == 0, check.output
    zone = SOURCES[name][1] if SOURCES[name] else None
    source = of_source((FIXTURES / name).read_bytes(), zone)
    imported = of_files(events)
    assert source, "the fixture has occurrences in the two years"
    notes = "\n".join(line for line in report.splitlines() if line.startswith("  - "))
    differences = {key: day for key, day in {**source, **imported}.items()
                   if (key in source) != (key in imported)}
    unexplained = {key: day for key, day in differences.items() if day not in notes}
    assert not unexplained, report
    assert len(differences) == EXPECTED_DIFFERENCES.get(name, 0), differences


@pytest.mark.parametrize("name", SOURCES)
def test_a_second_import_changes_no_byte(tmp_path, name):
    events = tmp_path / "events"
    run_import(str(FIXTURES / name), "--events", str(events), *SOURCES[name])
    first = files(events)
    code, report, _ = run_import(str(FIXTURES / name), "--events", str(events), "--update",
                                 *SOURCES[name])
    assert code == 0
    assert files(events) == first
    assert "new" not in report.split(";")[-2] and f"{len(first)} unchanged" in report


def test_moved_and_cancelled_occurrences_are_merged_into_their_series(tmp_path):
    events = tmp_path / "events"
    run_import(str(FIXTURES / "google.ics"), "--events", str(events))
    series = [p for p in files(events) if p.startswith("pydata-nyc-monthly-talks")]
    assert series == ["pydata-nyc-monthly-talks-2025-02-13.yaml"]  # one file, not three
    text = files(events)["pydata-nyc-monthly-talks-2025-02-13.yaml"].decode()
    assert text.endswith(
        "  changes:\n"
        "  - occurrence: 2025-04-10\n"
        "    start: 2025-04-10 19:00\n"
        "    title: PyData NYC Monthly Talks (late start)\n"
        "    summary: Monthly talks night. Doors open at 18:45 this time.\n"
        "  - occurrence: 2025-05-08\n"
        "    status: cancelled\n"
        "source_uid: 5k2c8q7m1n0p9r3s4t6u8v0w2x@google.com\n"), text


def test_windows_and_custom_zone_names_become_iana_zones(tmp_path):
    events = tmp_path / "events"
    _, report, _ = run_import(str(FIXTURES / "outlook.ics"), str(FIXTURES / "nextcloud.ics"),
                              "--events", str(events))
    texts = files(events)
    assert b"timezone: Europe/Berlin\n" in texts["ml-reading-group-2025-01-14.yaml"]
    # (UTC+01:00) Amsterdam, Berlin, ...: the rules of 34 zones; the first city named wins.
    assert b"timezone: Europe/Amsterdam\n" in texts["rust-ml-study-group-2025-01-28.yaml"]
    assert "W. Europe Standard Time' (a Windows name) is Europe/Berlin" in report


def test_all_day_exclusive_dtend_becomes_the_inclusive_last_day(tmp_path):
    events = tmp_path / "events"
    run_import(str(FIXTURES / "google.ics"), "--events", str(events))
    text = files(events)["pydata-nyc-conference-2025-2025-06-11.yaml"].decode()
    assert "start: 2025-06-11\nend: 2025-06-13\n" in text  # DTEND;VALUE=DATE:20250614


def test_html_descriptions_become_markdown(tmp_path):
    events = tmp_path / "events"
    run_import(str(FIXTURES / "google.ics"), str(FIXTURES / "outlook.ics"), "--events", str(events))
    google = files(events)["pydata-nyc-monthly-talks-2025-02-13.yaml"].decode()
    assert "  - Two talks of 20 minutes\n" in google
    assert "[example.org/pydata-nyc/coc](https://example.org/pydata-nyc/coc)" in google
    outlook = files(events)["ml-reading-group-2025-01-14.yaml"].decode()
    assert "see the **agenda**." in outlook and "<" not in outlook and "\\n" not in outlook


def test_floating_times_without_a_zone_stop_the_import(tmp_path):
    events = tmp_path / "events"
    code, _, errors = run_import(str(FIXTURES / "floating.ics"), "--events", str(events))
    assert code == 1
    assert "floating.ics:4:" in errors and "--timezone" in errors
    assert not events.exists()


def test_what_is_not_an_event_is_reported_not_dropped(tmp_path):
    _, report, _ = run_import(str(FIXTURES / "thunderbird.ics"), "--events", str(tmp_path / "e"))
    assert "VTODO 'Book the room at Station F'" in report and "not imported" in report


def test_utc_series_without_a_calendar_zone_stays_in_utc(tmp_path):
    events = tmp_path / "events"
    _, report, _ = run_import(str(FIXTURES / "discourse.ics"), "--events", str(events))
    assert b"timezone: UTC\n" in files(events)["contributor-sync-2025-02-03.yaml"]
    assert "kept as 'timezone: UTC'" in report


def test_an_unreadable_line_writes_nothing_and_names_the_line(tmp_path):
    bad = tmp_path / "bad.ics"
    text = (FIXTURES / "meetup.ics").read_text().replace("STATUS:CONFIRMED", "STATUS CONFIRMED", 1)
    bad.write_text(text)
    code, _, errors = run_import(str(bad), "--events", str(tmp_path / "events"))
    line = text.splitlines().index("STATUS CONFIRMED") + 1
    assert code == 1 and f"bad.ics:{line}:" in errors and "nothing was written" in errors
    assert not (tmp_path / "events").exists()


def test_a_changed_source_is_kept_without_update_and_summarised(tmp_path):
    events = tmp_path / "events"
    source = tmp_path / "meetup.ics"
    source.write_bytes((FIXTURES / "meetup.ics").read_bytes())
    run_import(str(source), "--events", str(events))
    path = events / "lightning-talks-night-2025-03-13.yaml"
    path.write_text(path.read_text().replace("kind: meetup", "kind: social"))  # a person's edit
    source.write_text(source.read_text().replace("20250313T200000", "20250313T203000"))
    before = files(events)
    code, report, _ = run_import(str(source), "--events", str(events))
    assert code == 0 and files(events) == before
    assert "kept" in report and "changed: end" in report and "--update" in report
    code, report, _ = run_import(str(source), "--events", str(events), "--update")
    assert "updated   " in report and "changed: end" in report
    text = path.read_text()
    assert "end: 2025-03-13 20:30\n" in text and "kind: social\n" in text  # the edit stays
    assert sorted(files(events)) == sorted(before)  # the same files, none added


def test_stdin_is_a_source(tmp_path):
    result = CliRunner().invoke(cli, ["import", "-", "--events", str(tmp_path / "e")],
                                input=(FIXTURES / "apple.ics").read_bytes())
    assert result.exit_code == 0, result.output
    assert sorted(files(tmp_path / "e")) == ["pycon-uk-2025-2025-09-19.yaml",
                                             "python-dojo-2025-03-06.yaml"]


def test_ids_are_stable_slugs_of_title_and_date():
    from pipeline.importer.draft import Draft, base_id

    draft = Draft(source_uid=None, title="Apéro des contributeurs!", kind="social",
                  start=dt.datetime(2025, 10, 16, 19))
    assert base_id(draft) == "apero-des-contributeurs-2025-10-16"


def test_an_unknown_zone_name_is_reported_and_the_event_left_out(tmp_path):
    source = tmp_path / "odd.ics"
    source.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\n"
                      "UID:odd-1\r\nDTSTART;TZID=Mars Standard Time:20250401T100000\r\n"
                      "DTEND;TZID=Mars Standard Time:20250401T110000\r\nSUMMARY:On Mars\r\n"
                      "END:VEVENT\r\nEND:VCALENDAR\r\n")
    code, report, _ = run_import(str(source), "--events", str(tmp_path / "events"))
    assert code == 0
    assert "odd.ics:4: VEVENT 'On Mars'" in report
    assert "not imported: time zone 'Mars Standard Time' is neither an IANA nor a Windows name" in report
    assert not (tmp_path / "events").exists()


def test_a_changed_occurrence_without_its_series_is_a_single_event(tmp_path):
    source = tmp_path / "one.ics"
    source.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\n"
                      "UID:series-9\r\nRECURRENCE-ID;TZID=Europe/Rome:20250402T100000\r\n"
                      "DTSTART;TZID=Europe/Rome:20250403T100000\r\n"
                      "DTEND;TZID=Europe/Rome:20250403T110000\r\nSUMMARY:Moved call\r\n"
                      "END:VEVENT\r\nEND:VCALENDAR\r\n")
    code, report, _ = run_import(str(source), "--events", str(tmp_path / "events"))
    assert code == 0 and "imported as a single event" in report
    text = (tmp_path / "events" / "moved-call-2025-04-03.yaml").read_text()
    assert "start: 2025-04-03 10:00\n" in text and "timezone: Europe/Rome\n" in text
    assert "source_uid: series-9;RECURRENCE-ID=20250402T100000\n" in text


def test_one_event_in_two_sources_is_imported_once(tmp_path):
    code, report, _ = run_import(str(FIXTURES / "meetup.ics"), str(FIXTURES / "meetup.ics"),
                                 "--events", str(tmp_path / "e"))
    assert code == 0 and len(files(tmp_path / "e")) == 2
    assert report.count("its UID is already imported from") == 2


def calendar(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//x//y//EN", *lines,
                        "END:VCALENDAR", ""])


def test_rules_the_loader_refuses_are_reported_per_event(tmp_path):
    source = tmp_path / "rules.ics"
    source.write_text(calendar(
        "BEGIN:VEVENT", "UID:h1", "DTSTART;TZID=Europe/Oslo:20250401T100000", "DURATION:PT30M",
        "RRULE:FREQ=HOURLY;COUNT=5", "SUMMARY:Hourly check-in", "END:VEVENT",
        "BEGIN:VEVENT", "UID:h2", "DTSTART;TZID=Europe/Oslo:20250401T100000", "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=4", "SUMMARY:Off-rule start", "END:VEVENT",
        "BEGIN:VEVENT", "UID:h3", "DTSTART;TZID=Europe/Oslo:20250402T100000", "DURATION:PT1H",
        "SUMMARY:Fine", "END:VEVENT"))
    code, report, _ = run_import(str(source), "--events", str(tmp_path / "events"))
    assert code == 0
    assert "VEVENT 'Hourly check-in'\n  - not imported: its RRULE cannot be published" in report
    assert "'Off-rule start'\n  - not imported: the event file would be refused" in report
    assert "'start' is not an occurrence" in report
    assert files(tmp_path / "events").keys() == {"fine-2025-04-02.yaml"}
    assert b"duration: 1h\n" in files(tmp_path / "events")["fine-2025-04-02.yaml"]


def test_a_one_off_utc_time_takes_the_given_zone_as_the_same_instant(tmp_path):
    source = tmp_path / "utc.ics"
    source.write_text(calendar("BEGIN:VEVENT", "UID:u1", "DTSTART:20250701T160000Z",
                               "DTEND:20250701T170000Z", "SUMMARY:Call", "END:VEVENT"))
    code, report, _ = run_import(str(source), "--events", str(tmp_path / "e"),
                                 "--timezone", "America/Chicago")
    text = files(tmp_path / "e")["call-2025-07-01.yaml"].decode()
    assert code == 0 and "start: 2025-07-01 11:00\nend: 2025-07-01 12:00\n" in text
    assert "timezone: America/Chicago\n" in text and "UTC" not in report


def test_a_wrong_zone_or_kind_option_is_a_usage_error(tmp_path):
    source = str(FIXTURES / "apple.ics")
    assert run_import(source, "--events", str(tmp_path), "--timezone", "Europe/Berln")[0] == 2
    assert run_import(source, "--events", str(tmp_path), "--kind", "party")[0] == 2


def test_changes_the_loader_refuses_leave_the_series_in_place(tmp_path):
    zone = "TZID=Europe/Madrid"
    source = tmp_path / "clash.ics"
    source.write_text(calendar(
        "BEGIN:VEVENT", "UID:s1", f"DTSTART;{zone}:20250401T180000", f"DTEND;{zone}:20250401T190000",
        "RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Madrid:20250415T180000",
        "SUMMARY:Weekly", "END:VEVENT",
        # moved onto the day of the next occurrence, which is still there: the loader refuses it
        "BEGIN:VEVENT", "UID:s1", f"RECURRENCE-ID;{zone}:20250401T180000",
        f"DTSTART;{zone}:20250408T200000", f"DTEND;{zone}:20250408T210000", "SUMMARY:Weekly",
        "SEQUENCE:1", "END:VEVENT",
        # a change of a skipped occurrence: EXDATE wins
        "BEGIN:VEVENT", "UID:s1", f"RECURRENCE-ID;{zone}:20250415T180000",
        f"DTSTART;{zone}:20250415T190000", f"DTEND;{zone}:20250415T200000", "SUMMARY:Weekly",
        "END:VEVENT"))
    code, report, errors = run_import(str(source), "--events", str(tmp_path / "e"))
    assert code == 0, errors
    text = files(tmp_path / "e")["weekly-2025-04-01.yaml"].decode()
    assert "changes:" not in text and "  - 2025-04-15\n" in text
    assert "changed occurrence(s) are left out, as the loader refuses them" in report
    assert "2025-04-15 18:00:00 is both in EXDATE and changed" in report


def test_a_tzid_with_a_utc_z_is_read_as_wall_clock_and_reported(tmp_path):
    source = tmp_path / "z.ics"
    source.write_text(calendar("BEGIN:VEVENT", "UID:z1", "DTSTART;TZID=Europe/Berlin:20250301T180000Z",
                               "DTEND;TZID=Europe/Berlin:20250301T190000Z", "SUMMARY:Zed",
                               "END:VEVENT"))
    code, report, _ = run_import(str(source), "--events", str(tmp_path / "e"))
    assert code == 0 and "z.ics:6: DTSTART\n  - has both a TZID and a UTC 'Z'" in report
    assert b"start: 2025-03-01 18:00\n" in files(tmp_path / "e")["zed-2025-03-01.yaml"]


def test_without_events_the_site_folders_events_are_written(in_tmp):
    """Bug: `pipeline import FILE` in a site folder crashed (events folder None)."""
    Path("events").mkdir()
    code, report, errors = run_import(str(FIXTURES / "apple.ics"))
    assert code == 0, errors
    assert "Traceback" not in errors and "2 new;" in report
    assert sorted(files(Path("events"))) == ["pycon-uk-2025-2025-09-19.yaml",
                                             "python-dojo-2025-03-06.yaml"]


def test_site_option_writes_into_that_site_with_its_kinds(in_tmp):
    Path("site").mkdir()
    Path("site/pipeline.yaml").write_text("kinds: [sprint]\n")
    Path("pipeline.yaml").write_text("kinds: [other]\n")  # the working folder's: not read
    code, _, errors = run_import(str(FIXTURES / "apple.ics"), "--site", "site", "--kind", "sprint")
    assert code == 0, errors
    assert sorted(files(Path("site/events"))) == ["pycon-uk-2025-2025-09-19.yaml",
                                                  "python-dojo-2025-03-06.yaml"]
    assert not Path("events").exists()
    code, _, errors = run_import(str(FIXTURES / "apple.ics"), "--site", "site", "--kind", "other")
    assert code == 2 and "'other' is not a kind" in errors


def test_new_events_that_took_the_default_kind_are_counted(tmp_path):
    events = tmp_path / "events"
    code, report, errors = run_import(str(FIXTURES / "google.ics"), str(FIXTURES / "wordpress.ics"),
                                      "--events", str(events), "--kind", "social")
    assert code == 0, errors
    kinds = sorted(re.search(r"^kind: (\w+)$", p.read_text(), re.M).group(1)
                   for p in events.glob("*.yaml"))
    took = kinds.count("social")
    assert 0 < took < len(kinds)  # WordPress names its kinds in CATEGORIES; Google does not
    assert (f"{took} new events took the kind 'social': the source names none; pass --kind "
            "for another, or edit their 'kind:'") in report
    code, report, _ = run_import(str(FIXTURES / "google.ics"), "--events", str(events))
    assert "took the kind" not in report  # nothing new: the files keep what they say
