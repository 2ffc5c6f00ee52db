"""A series whose occurrences land in a DST gap or fold is refused like such a `start` is."""

from __future__ import annotations

from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings


def _series(start: str, zone: str, rule: str, extra: str = "") -> str:
    return (f"title: Night call\nkind: meeting\nstart: {start}\nduration: 1h\ntimezone: {zone}\n"
            f"recurrence:\n  rule: {rule}\n{extra}")


def test_daily_series_through_both_paris_changes_names_the_dates(write_yaml, check_problems):
    write_yaml("events/a.yaml", _series("2025-03-01 02:30", "Europe/Paris",
                                        "FREQ=DAILY;UNTIL=20251231T000000Z"))
    assert check_problems() == [
        "events/a.yaml:7: rule 'FREQ=DAILY;UNTIL=20251231T000000Z' puts occurrences where the "
        "clocks change in Europe/Paris: 2025-03-30 02:30 does not exist, 2025-10-26 02:30 "
        "happens twice; add those dates to 'except' or move the series to another time of "
        "day (calendar apps disagree on such occurrences)"]


def test_except_of_those_dates_makes_the_series_valid(write_yaml, in_tmp):
    write_yaml("events/a.yaml", _series("2025-03-01 02:30", "Europe/Paris",
                                        "FREQ=DAILY;UNTIL=20251231T000000Z",
                                        "  except: [2025-03-30, 2025-10-26]\n"))
    (event,) = load_events(in_tmp / "events", Settings())
    assert len(event.recurrence.exceptions) == 2


def test_lord_howe_half_hour_gap_of_an_open_weekly_series(write_yaml, check_problems):
    # Lord Howe moves its clocks by 30 minutes: 02:00 -> 02:30 on the first Sunday of October.
    write_yaml("events/a.yaml", _series("2025-01-05 02:15", "Australia/Lord_Howe",
                                        "FREQ=WEEKLY;BYDAY=SU"))
    (problem,) = check_problems()
    assert problem.startswith(
        "events/a.yaml:7: rule 'FREQ=WEEKLY;BYDAY=SU' puts occurrences where the clocks change "
        "in Australia/Lord_Howe: 2025-10-05 02:15 does not exist, 2026-10-04 02:15 does not "
        "exist")
    assert "(and maybe more)" in problem


def test_an_hour_of_byhour_in_the_gap_is_found(write_yaml, check_problems):
    write_yaml("events/a.yaml", _series("2025-03-29 02:00", "Europe/Paris",
                                        "FREQ=DAILY;BYHOUR=2,20;COUNT=6"))
    # 2025-03-29 02:00 is fine (the day before); 30 March 02:00 is skipped by the clocks.
    assert check_problems() == [
        "events/a.yaml:7: rule 'FREQ=DAILY;BYHOUR=2,20;COUNT=6' puts occurrences where the "
        "clocks change in Europe/Paris: 2025-03-30 02:00 does not exist; add those dates to "
        "'except' or move the series to another time of day (calendar apps disagree on such "
        "occurrences)"]


def test_series_at_other_times_pass_and_only_their_zone_is_scanned(write_yaml, in_tmp):
    for index, zone in enumerate(("Europe/Paris", "America/New_York", "Australia/Lord_Howe",
                                  "Europe/Dublin", "America/Santiago")):
        write_yaml(f"events/e{index}.yaml", _series("2025-01-01 18:15", zone, "FREQ=DAILY"))
    assert len(load_events(in_tmp / "events", Settings())) == 5
