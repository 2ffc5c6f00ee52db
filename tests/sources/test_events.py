"""Event files: every bad input of the contract is one exact `path:line: message` line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import InvalidInput
from pipeline.model import Event, Location
from pipeline.sources.events import load_events, yaml_files
from pipeline.sources.settings import Settings

VALID = """\
title: Seoul meetup
kind: meetup
start: 2024-11-30
"""

# (test id, {file: text}, the exact problem lines `pipeline check` prints)
BAD_EVENTS = [
    ("unknown-key", {"events/a.yaml": VALID + "titel: typo\n"},
     ["events/a.yaml:4: unknown key 'titel'; did you mean 'title'?"]),
    ("unknown-key-no-suggestion", {"events/a.yaml": VALID + "zzz: 1\n"},
     ["events/a.yaml:4: unknown key 'zzz'; allowed keys: id, title, kind, start, end, duration, "
      "timezone, status, location, url, summary, description, image, highlights, links, hosts, "
      "tags, recurrence, moved_from, source_uid"]),
    ("unknown-location-key", {"events/a.yaml": VALID + "location:\n  name: Hall\n  citty: Paris\n"},
     ["events/a.yaml:6: unknown key 'location.citty'; did you mean 'city'?"]),
    ("wrong-type-title", {"events/a.yaml": "title: [a, b]\nkind: meetup\nstart: 2024-11-30\n"},
     ["events/a.yaml:1: 'title' must be text, not a list"]),
    ("wrong-type-tags", {"events/a.yaml": VALID + "tags: korea\n"},
     ["events/a.yaml:4: 'tags' must be a list, not text"]),
    ("wrong-type-online", {"events/a.yaml": VALID + "location:\n  name: Zoom\n  online: yes\n"},
     ["events/a.yaml:6: 'location.online' must be true or false, not text"]),
    ("wrong-type-location", {"events/a.yaml": VALID + "location: [Paris, France]\n"},
     ["events/a.yaml:4: 'location' must be text or a mapping of name, address, city, country, "
      "url, online, not a list"]),
    ("wrong-type-image", {"events/a.yaml": VALID + "image: photo.jpg\n"},
     ["events/a.yaml:4: 'image' must be a mapping, not text; write it as image: "
      "{src: images/photo.jpg, alt: what it shows}"]),
    ("wrong-type-recurrence", {"events/a.yaml": VALID + "recurrence: FREQ=WEEKLY\n"},
     ["events/a.yaml:4: 'recurrence' must be a mapping, not text; write it as recurrence: "
      "{rule: FREQ=WEEKLY;BYDAY=TH}"]),
    ("bad-start", {"events/a.yaml": "title: A\nkind: meetup\nstart: 30/11/2024\n"},
     ["events/a.yaml:3: 'start' '30/11/2024' is not a date or date-time; write YYYY-MM-DD for an "
      "all-day event or YYYY-MM-DD HH:MM for a timed one"]),
    ("missing-title", {"events/a.yaml": "kind: meetup\nstart: 2024-11-30\n"},
     ["events/a.yaml:1: missing required key 'title'"]),
    ("unknown-zone", {"events/seoul.yaml": "title: Seoul\nkind: meetup\nstart: 2024-11-30 14:00\n"
                      "duration: 2h\ntimezone: Asia/Seul\n"},
     ["events/seoul.yaml:5: timezone 'Asia/Seul' is not an IANA time zone; did you mean "
      "'Asia/Seoul'?"]),
    ("unknown-zone-no-suggestion", {"events/a.yaml": VALID + "timezone: Nowhere\n"},
     ["events/a.yaml:4: timezone 'Nowhere' is not an IANA time zone; use a name such as "
      "'Europe/Paris' (see the tz database)"]),
    ("unknown-kind", {"events/a.yaml": "title: A\nkind: meetp\nstart: 2024-11-30\n"},
     ["events/a.yaml:2: kind 'meetp' is not allowed; did you mean 'meetup'?"]),
    ("unknown-kind-lists-kinds", {"events/a.yaml": "title: A\nkind: party\nstart: 2024-11-30\n"},
     ["events/a.yaml:2: kind 'party' is not allowed; use one of: conference, meetup, hackathon, "
      "docathon, webinar, social, meeting"]),
    ("unknown-status", {"events/a.yaml": VALID + "status: canceled\n"},
     ["events/a.yaml:4: status 'canceled' is not allowed; did you mean 'cancelled'?"]),
    ("all-day-end-before-start", {"events/a.yaml": VALID + "end: 2024-11-29\n"},
     ["events/a.yaml:4: 'end' 2024-11-29 is before 'start' 2024-11-30; 'end' is the last day, "
      "inclusive"]),
    ("timed-end-before-start", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 18:00\n"
                                "end: 2024-11-30 17:00\ntimezone: Europe/Paris\n"},
     ["events/a.yaml:4: 'end' 2024-11-30 17:00 is not after 'start' 2024-11-30 18:00"]),
    ("invalid-rrule", {"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY;BYDAY=XX\n"},
     ["events/a.yaml:5: rule 'FREQ=WEEKLY;BYDAY=XX' is not a valid RRULE: Expected weekday "
      "abbreviation, got: XX"]),
    ("rrule-without-freq", {"events/a.yaml": VALID + "recurrence:\n  rule: BYDAY=SA\n"},
     ["events/a.yaml:5: rule 'BYDAY=SA' has no FREQ; write e.g. FREQ=WEEKLY;BYDAY=WE"]),
    ("start-not-an-occurrence", {"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY;BYDAY=WE\n"},
     ["events/a.yaml:5: 'start' is not an occurrence of rule 'FREQ=WEEKLY;BYDAY=WE'; calendar apps "
      "disagree on such series: move 'start' to the first occurrence (2024-12-04)"]),
    ("except-not-an-occurrence", {"events/a.yaml": VALID + "recurrence:\n  rule: FREQ=WEEKLY\n"
                                  "  except: [2024-12-08]\n"},
     ["events/a.yaml:6: 'except' item '2024-12-08' is not an occurrence of the series; remove it "
      "or fix the date"]),
    ("non-http-url", {"events/a.yaml": VALID + "url: ftp://example.org/x\n"},
     ["events/a.yaml:4: 'url' 'ftp://example.org/x' must be an http:// or https:// URL"]),
    ("javascript-link", {"events/a.yaml": VALID + "links:\n  - title: Slides\n"
                         "    url: javascript:alert(1)\n"},
     ["events/a.yaml:6: 'links[].url' 'javascript:alert(1)' must be an http:// or https:// URL"]),
    ("image-without-alt", {"events/a.yaml": VALID + "image:\n  src: assets/photo.jpg\n"},
     ["events/a.yaml:5: an image needs 'alt': describe what it shows for people who cannot see it"]),
    ("newline-in-title", {"events/a.yaml": 'title: "Seoul\\nmeetup"\nkind: meetup\nstart: 2024-11-30\n'},
     ["events/a.yaml:1: 'title' must be one line; remove the line break (use 'summary' or "
      "'description' for longer text)"]),
    ("newline-in-block-title", {"events/a.yaml": "title: |\n  Seoul\n  meetup\nkind: meetup\n"
                                "start: 2024-11-30\n"},
     ["events/a.yaml:1: 'title' must be one line; remove the line break (use 'summary' or "
      "'description' for longer text)"]),
    ("empty-file", {"events/a.yaml": "# nothing yet\n\n"},
     ["events/a.yaml:1: the file is empty; an event file is a YAML mapping of keys such as "
      "'title:'"]),
    ("not-utf8", {"events/a.yaml": b"title: Caf\xe9\nkind: meetup\n"},
     ["events/a.yaml:1: the file is not UTF-8 text; save it as UTF-8"]),
    ("not-a-mapping", {"events/a.yaml": "- title: A\n- title: B\n"},
     ["events/a.yaml:1: the file holds a list; an event file must be a mapping of keys such as "
      "'title:'"]),
    ("a-single-value", {"events/a.yaml": "just text\n"},
     ["events/a.yaml:1: the file holds the single value 'just text'; an event file must be a "
      "mapping of keys such as 'title:'"]),
    ("only-a-document-marker", {"events/a.yaml": "---\n"},
     ["events/a.yaml:1: the file holds no value; an event file must be a mapping of keys such as "
      "'title:'"]),
    ("python-tag", {"events/a.yaml": "title: !!python/object/apply:os.system ['echo hi']\n"
                    "kind: meetup\nstart: 2024-11-30\n"},
     ["events/a.yaml:1: invalid YAML: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
      "allowed; only plain YAML values"]),
    ("duplicate-key", {"events/a.yaml": VALID + "title: Again\n"},
     ["events/a.yaml:4: duplicate key 'title' (first at line 1)"]),
    ("invalid-yaml", {"events/a.yaml": "title: [unclosed\nkind: meetup\n"},
     ["events/a.yaml:2: invalid YAML: did not find expected ',' or ']'. Check: a [list, in "
      "brackets] needs commas between items and a closing ']'; quote an item that contains "
      "', ' or ': '"]),
    ("dst-gap", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-03-31 02:30\nduration: 1h\n"
                 "timezone: Europe/Paris\n"},
     ["events/a.yaml:3: 'start' 2024-03-31 02:30 does not exist in Europe/Paris (the clocks jump "
      "forward then); pick a time outside the gap"]),
    ("dst-fold", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-10-27 02:30\nduration: 1h\n"
                  "timezone: Europe/Paris\n"},
     ["events/a.yaml:3: 'start' 2024-10-27 02:30 happens twice in Europe/Paris (the clocks go back "
      "then); pick a time outside that hour"]),
    ("timed-without-zone", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 14:00\n"
                            "duration: 2h\n"},
     ["events/a.yaml:3: a timed event needs 'timezone' (an IANA name such as "
      "'America/Los_Angeles'); times are never guessed"]),
    ("timed-without-end", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 14:00\n"
                           "timezone: Asia/Seoul\n"},
     ["events/a.yaml:3: a timed event needs 'end' (a date-time) or 'duration' (e.g. 90m, 1h30m)"]),
    ("bad-duration", {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 14:00\n"
                      "duration: 90\ntimezone: Asia/Seoul\n"},
     ["events/a.yaml:4: 'duration' '90' is not a duration; write e.g. 90m, 2h or 1h30m"]),
    ("duration-on-all-day", {"events/a.yaml": VALID + "duration: 2h\n"},
     ["events/a.yaml:4: 'duration' is for timed events; an all-day event uses 'end' (its last day)"]),
    ("id-not-a-slug", {"events/a.yaml": "id: Seoul Meetup\n" + VALID},
     ["events/a.yaml:1: 'id' 'Seoul Meetup' is not a slug (lowercase letters, digits and '-', "
      "starting with a letter or digit); try 'seoul-meetup'"]),
    ("stem-not-a-slug", {"events/Seoul Meetup.yaml": VALID},
     ["events/Seoul Meetup.yaml:1: the file name 'Seoul Meetup' is not a slug, so it cannot be the "
      "event's id; rename the file or add an 'id:' such as 'pytorch-conference-2025'"]),
    ("duplicate-id", {"events/2024/a.yaml": "id: seoul\n" + VALID,
                      "events/2025/b.yaml": VALID + "id: seoul\n"},
     ["events/2025/b.yaml:4: id 'seoul' is already used by events/2024/a.yaml:1; ids must be "
      "unique, give this event another id"]),
    ("duplicate-id-from-stems", {"events/2024/seoul.yaml": VALID, "events/2025/seoul.yml": VALID},
     ["events/2025/seoul.yml:1: id 'seoul' is already used by events/2024/seoul.yaml:1; ids must "
      "be unique, give this event another id"]),
]


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize(("files", "expected"), [case[1:] for case in BAD_EVENTS],
                         ids=[case[0] for case in BAD_EVENTS])
def test_bad_event_is_reported_with_file_line_and_fix(in_tmp, check_problems, files, expected):
    _write(in_tmp, files)
    assert check_problems() == expected


def test_alias_bomb_is_refused(in_tmp, check_problems):
    # Nine levels of nine aliases: 9**9 strings if expanded; refused at the first alias.
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    _write(in_tmp, {"events/bomb.yaml": "\n".join(lines) + "\n"})
    # The line is the anchor's: the parser resolves `*a0` to the anchored node itself.
    assert check_problems() == ["events/bomb.yaml:1: YAML anchors and aliases (&name, *name) are "
                                "not allowed; write the value out"]


def test_huge_file_is_refused_before_parsing(in_tmp, check_problems):
    _write(in_tmp, {"events/huge.yaml": VALID + "summary: " + "x" * 1_100_000 + "\n"})
    assert check_problems() == ["events/huge.yaml:1: the file is 1,100,061 bytes; event files must "
                                "be under 1,000,000 bytes"]


def test_deep_nesting_is_an_error_not_a_crash(in_tmp, check_problems):
    _write(in_tmp, {"events/deep.yaml": "title: " + "[" * 50_000 + "]" * 50_000 + "\n"})
    assert check_problems() == ["events/deep.yaml:1: invalid YAML: exceeded maximum nesting depth"]


@pytest.mark.parametrize("when", ["end: 2026-12-01 17:00", "duration: 2 hours",
                                  "end: 2026-12-01 19:00\nduration: 1h"])
def test_a_bad_end_does_not_hide_the_recurrences_problems(in_tmp, check_problems, when):
    """Bug: with 'end' before 'start', a misspelt rule showed only on the next run."""
    _write(in_tmp, {"events/a.yaml": "title: A\nkind: meetup\nstart: 2026-12-01 18:00\n"
                    f"{when}\ntimezone: Europe/Berlin\nrecurrence:\n  rule: FREQ=MONTLY\n"})
    problems = check_problems()
    assert len(problems) == 2, problems
    assert "FREQ='MONTLY' is not a frequency; did you mean 'MONTHLY'?" in problems[-1]


def test_three_broken_files_are_all_reported_in_one_run(in_tmp, check_problems):
    _write(in_tmp, {"events/a.yaml": VALID + "titel: typo\n",
                    "events/sub/b.yaml": "title: B\nkind: meetp\nstart: 2024-11-30\n",
                    "events/sub/deeper/c.yml": "",
                    "events/good.yaml": VALID})
    assert check_problems() == [
        "events/a.yaml:4: unknown key 'titel'; did you mean 'title'?",
        "events/sub/b.yaml:2: kind 'meetp' is not allowed; did you mean 'meetup'?",
        "events/sub/deeper/c.yml:1: the file is empty; an event file is a YAML mapping of keys "
        "such as 'title:'",
    ]


def test_every_problem_of_one_file_is_reported(in_tmp, check_problems):
    _write(in_tmp, {"events/a.yaml": "title: A\nkind: party\nstart: 2024-11-30\nurl: example.org\n"
                    "colour: red\n"})
    assert check_problems() == [
        "events/a.yaml:2: kind 'party' is not allowed; use one of: conference, meetup, hackathon, "
        "docathon, webinar, social, meeting",
        "events/a.yaml:4: 'url' 'example.org' must be an http:// or https:// URL",
        "events/a.yaml:5: unknown key 'colour'; allowed keys: id, title, kind, start, end, duration, "
        "timezone, status, location, url, summary, description, image, highlights, links, hosts, "
        "tags, recurrence, moved_from, source_uid",
    ]


def load(root: Path, files: dict[str, str], settings: Settings | None = None) -> tuple[Event, ...]:
    _write(root, files)
    return load_events(root / "events", settings or Settings())


def test_all_day_event_keeps_dates_and_inclusive_last_day(in_tmp):
    (event,) = load(in_tmp, {"events/conf.yaml": "title: Conf\nkind: conference\nstart: 2024-09-18\n"
                             "end: 2024-09-19\ntimezone: America/Los_Angeles\n"})
    assert (event.id, event.start, event.end) == ("conf", dt.date(2024, 9, 18), dt.date(2024, 9, 19))
    assert event.all_day and event.exclusive_end == dt.date(2024, 9, 20)


def test_timed_event_is_zone_aware_and_duration_is_elapsed_time(in_tmp):
    (event,) = load(in_tmp, {"events/sig.yaml": "title: SIG\nkind: meeting\nstart: 2024-12-04T14:00\n"
                             "duration: 1h30m\ntimezone: Asia/Seoul\n"})
    seoul = ZoneInfo("Asia/Seoul")
    assert event.start == dt.datetime(2024, 12, 4, 14, 0, tzinfo=seoul)
    assert event.end == dt.datetime(2024, 12, 4, 15, 30, tzinfo=seoul)


def test_location_as_text_and_mapping(in_tmp):
    events = load(in_tmp, {"events/a.yaml": VALID + "location: Meta, Bellevue\n",
                           "events/b.yaml": VALID + "location:\n  name: Zoom\n  online: true\n"
                           "  url: https://zoom.example/j/1\n"})
    assert [e.location for e in events] == [
        Location(name="Meta, Bellevue"), Location(name="Zoom", url="https://zoom.example/j/1",
                                                  online=True)]


def test_events_are_sorted_by_start_then_id_whatever_the_file_order(in_tmp):
    events = load(in_tmp, {"events/z.yaml": "title: Z\nkind: meetup\nstart: 2024-01-01\n",
                           "events/b.yaml": "title: B\nkind: meetup\nstart: 2024-02-01\n",
                           "events/a.yaml": "title: A\nkind: meetup\nstart: 2024-02-01\n"})
    assert [e.id for e in events] == ["z", "a", "b"]


def test_dot_folders_are_skipped(in_tmp):
    _write(in_tmp, {"events/.drafts/x.yaml": "broken: [", "events/a.yml": VALID})
    assert [p.name for p in yaml_files(in_tmp / "events")] == ["a.yml"]


def test_missing_events_folder(in_tmp, check_problems):
    assert check_problems() == ["events: events folder not found; create it or pass --events DIR"]


def test_settings_kinds_extend_the_allowed_kinds(in_tmp):
    settings = Settings(kinds=(*Settings().kinds, "sprint"))
    (event,) = load(in_tmp, {"events/a.yaml": "title: A\nkind: sprint\nstart: 2024-01-01\n"},
                    settings)
    assert event.kind == "sprint"
    with pytest.raises(InvalidInput):
        load_events(in_tmp / "events", Settings())


def test_bundled_events_load(settings):
    events = load_events(Path(__file__).resolve().parents[2] / "events", settings)
    assert len(events) == 10
    assert len({e.id for e in events}) == 10


# Regression tests: one per bug found in the loader.

def test_empty_id_means_the_file_stem(in_tmp):
    # `id:` with no value made the loader return no event and no problem: it vanished silently.
    (event,) = load(in_tmp, {"events/seoul.yaml": "id:\n" + VALID})
    assert event.id == "seoul"


def test_empty_timezone_on_a_timed_event_is_reported(in_tmp, check_problems):
    # `timezone:` with no value dropped the event without any message.
    _write(in_tmp, {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 14:00\n"
                    "duration: 1h\ntimezone:\n"})
    assert check_problems() == ["events/a.yaml:3: a timed event needs 'timezone' (an IANA name "
                                "such as 'America/Los_Angeles'); times are never guessed"]


def test_empty_image_alt_is_reported(in_tmp, check_problems):
    # `alt:` with no value dropped the image silently instead of asking for a description.
    _write(in_tmp, {"events/a.yaml": VALID + "image:\n  src: photo.jpg\n  alt:\n"})
    assert check_problems() == ["events/a.yaml:5: an image needs 'alt': describe what it shows for "
                                "people who cannot see it"]


def test_required_key_with_no_value_is_reported_at_its_line(in_tmp, check_problems):
    # `kind:` left empty was reported as "missing required key 'kind'" at line 1.
    _write(in_tmp, {"events/a.yaml": "title: A\nstart: 2024-11-30\nkind:\n"})
    assert check_problems() == ["events/a.yaml:3: 'kind' is empty; give it a value"]


def test_machine_dependent_localtime_is_not_a_time_zone(in_tmp, check_problems):
    # 'localtime' passed as an IANA zone: the event's time depended on the build server.
    _write(in_tmp, {"events/a.yaml": "title: A\nkind: meetup\nstart: 2024-11-30 10:00\n"
                    "duration: 1h\ntimezone: localtime\n"})
    assert check_problems() == ["events/a.yaml:5: timezone 'localtime' is not an IANA time zone; "
                                "use a name such as 'Europe/Paris' (see the tz database)"]


def test_a_flood_of_unknown_keys_is_summarised(in_tmp, check_problems):
    # 60,000 stray keys (a file under 1 MB) took 13 s of suggestions and 60,000 lines.
    _write(in_tmp, {"events/a.yaml": VALID + "".join(f"k{i}: v\n" for i in range(60_000))})
    problems = check_problems()
    assert len(problems) == 21
    assert problems[0].startswith("events/a.yaml:4: unknown key 'k0'; allowed keys: id, title")
    assert problems[-1] == "events/a.yaml:24: and 59,980 more unknown keys from here on"


@pytest.mark.parametrize(("item", "message"), [
    ('"Meta\\u2028Microsoft"', "each item of 'hosts' must be one line of text without control "
                               "characters"),
    ('"Meta\\u0007"', "each item of 'hosts' must be one line of text without control characters"),
    ("''", "an item of 'hosts' is empty; remove it"),
    ("[a]", "each item of 'hosts' must be text, not a list"),
])
def test_list_items_follow_the_one_line_text_rules(in_tmp, check_problems, item, message):
    # Items were only checked for "\n": U+2028 and control characters reached feeds and
    # e-mail, and an empty item read "must be non-empty text, not text".
    _write(in_tmp, {"events/a.yaml": VALID + f"hosts:\n  - {item}\n"})
    assert check_problems() == [f"events/a.yaml:5: {message}"]


def test_numbers_in_text_fields_keep_their_written_form(in_tmp):
    # YAML reads `0123` as octal 83 and `1.10` as 1.1; text fields must keep what was typed.
    (event,) = load(in_tmp, {"events/x.yaml": "id: 0123\ntitle: 1.10\nkind: meetup\n"
                             "start: 2025-01-01\nhosts: [007, Meta]\ntags: [2024]\n"})
    assert (event.id, event.title, event.hosts, event.tags) == ("0123", "1.10", ("007", "Meta"),
                                                                ("2024",))


def test_bad_settings_and_bad_events_are_reported_in_one_run(in_tmp, check_problems):
    # The valid keys of a broken settings file still apply: 'sprint' is a known kind here.
    _write(in_tmp, {"pipeline.yaml": "kinds: [sprint]\nrefresh_interval: 5m\n",
                    "events/a.yaml": "title: A\nkind: sprint\nstart: 2024-11-30\n",
                    "events/b.yaml": "title: B\nkind: meetp\nstart: 2024-11-30\n"})
    assert check_problems() == [
        "events/b.yaml:2: kind 'meetp' is not allowed; did you mean 'meetup'?",
        "pipeline.yaml:2: 'refresh_interval' '5m' is not a duration of at least an hour; "
        "write e.g. 12h or 1d",
    ]
