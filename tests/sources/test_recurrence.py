"""An event's recurrence: RRULEs clients read alike, bounded walks, and `except` dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.model import Event, Recurrence
from pipeline.sources.events import load_events
from pipeline.sources.settings import Settings

VALID = """\
title: Seoul meetup
kind: meetup
start: 2024-11-30
"""


@pytest.fixture
def write(write_yaml, in_tmp):
    """Write {relative path: text} under the test's working folder."""
    def write_all(files: dict[str, str]) -> None:
        for relative, text in files.items():
            write_yaml(relative, text)
    return write_all


def _events(in_tmp) -> tuple[Event, ...]:
    return load_events(in_tmp / "events", Settings())


def test_timed_except_date_without_time_skips_that_day(write, in_tmp):
    write({"events/sig.yaml": "title: SIG\nkind: meeting\nstart: 2024-12-04 14:00\n"
                              "duration: 1h\ntimezone: Asia/Seoul\nrecurrence:\n"
                              "  rule: FREQ=WEEKLY;COUNT=3\n  except: [2024-12-11]\n"})
    (event,) = _events(in_tmp)
    seoul = ZoneInfo("Asia/Seoul")
    assert event.recurrence == Recurrence("FREQ=WEEKLY;COUNT=3",
                                          (dt.datetime(2024, 12, 11, 14, tzinfo=seoul),))


# Regression tests: one per bug found in reading series.

def test_rule_with_no_occurrence_is_an_error_not_a_crash(write, check_problems):
    # Formatting the "first occurrence" hint of an empty series raised TypeError.
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY;UNTIL=20240101\n"})
    assert check_problems() == ["events/a.yaml:5: rule 'FREQ=WEEKLY;UNTIL=20240101' has no "
                                "occurrence from 'start' on; check its UNTIL, COUNT and BY... parts"]


def test_interval_zero_is_refused(write, check_problems):
    # dateutil repeats 'start' forever with INTERVAL=0, so every later walk of the series hung.
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY;INTERVAL=0\n"})
    assert check_problems() == ["events/a.yaml:5: INTERVAL=0 must be a whole number of at least 1"]


def test_except_skipping_every_occurrence_is_reported(write, check_problems):
    # A series with no occurrence left had has_ended() False but no next occurrence, which
    # crashed "looking ahead" (None.start).
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY;COUNT=2\n"
                    "  except: [2024-11-30, 2024-12-07]\n"})
    assert check_problems() == ["events/a.yaml:6: 'except' skips every occurrence of the series; "
                                "remove the event instead (a series with no occurrence cannot be "
                                "published)"]


@pytest.mark.parametrize(("freq", "hint"), [("MONTLY", "; did you mean 'MONTHLY'?"),
                                           ("FORTNIGHTLY", "; write DAILY, WEEKLY, MONTHLY or "
                                                           "YEARLY")])
def test_a_misspelt_frequency_says_which_ones_there_are(write, check_problems, freq, hint):
    write({"events/a.yaml": VALID + f"recurrence:\n  rule: FREQ={freq};BYDAY=SA\n"})
    assert check_problems() == [f"events/a.yaml:5: FREQ='{freq}' is not a frequency{hint}"]


def test_sub_daily_rule_is_refused(write, check_problems):
    # FREQ=MINUTELY with a far 'except' walked millions of occurrences: 'pipeline check' hung.
    write({"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 10:00\n"
                    "duration: 1m\ntimezone: Asia/Seoul\nrecurrence:\n  rule: FREQ=MINUTELY\n"
                    "  except: [2090-01-01 10:00]\n"})
    assert check_problems() == ["events/a.yaml:7: rule 'FREQ=MINUTELY' repeats within the hour or "
                                "the day; events repeat at most daily (FREQ=DAILY, WEEKLY, MONTHLY "
                                "or YEARLY): write one event per time of day"]


def test_series_with_too_many_occurrences_is_refused(write, check_problems):
    # A daily series until 9999 took ~20 s for every "has it ended?" of the build.
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=DAILY;UNTIL=99991231\n"})
    assert check_problems() == ["events/a.yaml:5: rule 'FREQ=DAILY;UNTIL=99991231' has more than "
                                "10,000 occurrences; use a nearer UNTIL or a smaller COUNT, or "
                                "leave the series open-ended"]


def test_except_far_beyond_the_start_of_an_open_series_is_refused(write, check_problems):
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=DAILY\n"
                    "  except: [2024-12-01, 9000-01-01]\n"})
    assert check_problems() == ["events/a.yaml:6: 'except' item '9000-01-01' is beyond the "
                                "series' first 10,000 occurrences; end the series before it (UNTIL)"]


def test_open_series_is_walked_only_as_far_as_its_except_items(write, check_problems, monkeypatch):
    # Every open series with an 'except' was walked 10,001 steps: 5 s for 100 such events.
    import pipeline.sources.recurrence as recurrence

    monkeypatch.setattr(recurrence, "MAX_OCCURRENCES", 50)  # would refuse 2024-12-03 if walked
    write({"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=DAILY\n"
                    "  except: [2024-12-02]\n",
                    "events/b.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n"
                    "  except: [2024-12-02, 2026-01-03]\n"})
    # 2024-12-02 is not a Saturday; Saturday 2026-01-03 is beyond the first 50 weeks.
    assert check_problems() == [
        "events/b.yaml:6: 'except' item '2024-12-02' is not an occurrence of the series; "
        "remove it or fix the date",
        "events/b.yaml:6: 'except' item '2026-01-03' is beyond the series' first 50 "
        "occurrences; end the series before it (UNTIL)"]


def test_walk_of_an_open_series_stops_at_the_probe():
    from dateutil.rrule import rrulestr

    from pipeline.sources.changes import Walk

    start = dt.datetime(2024, 11, 30, 10, 0)
    walk = Walk(rrulestr("FREQ=DAILY", dtstart=start), 10_001)
    walk.until(start + dt.timedelta(days=3, hours=1))
    assert len(walk.seen) == 5 and not walk.done  # the 4th day's is the first at/after it
