"""Newsletter issue files: validated into Issues; every problem is one exact line."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from pipeline.model import Link, Section
from pipeline.sources.issues import load_issues
from pipeline.sources.settings import Settings

EVENT = "title: A\nkind: meetup\nstart: 2024-11-30\n"
ISSUE = "title: 2024 recap\ndate: 2025-01-06\nperiod:\n  from: 2024-01-01\n  to: 2024-12-31\n"

BAD_ISSUES = [
    ("unknown-key", ISSUE + "subjet: Hi\n",
     ["newsletters/recap.yaml:6: unknown key 'subjet'; did you mean 'subject'?"]),
    ("missing-date", "title: T\nperiod: {from: 2024-01-01, to: 2024-12-31}\n",
     ["newsletters/recap.yaml:1: missing required key 'date'"]),
    ("bad-date", "title: T\ndate: 6 Jan 2025\nperiod: {from: 2024-01-01, to: 2024-12-31}\n",
     ["newsletters/recap.yaml:2: 'date' '6 Jan 2025' is not a date; write YYYY-MM-DD, e.g. "
      "2025-10-22"]),
    ("missing-period", "title: T\ndate: 2025-01-06\n",
     ["newsletters/recap.yaml:1: missing required key 'period' ({from: YYYY-MM-DD, to: "
      "YYYY-MM-DD})"]),
    ("period-to-before-from", "title: T\ndate: 2025-01-06\nperiod:\n  from: 2024-12-31\n"
     "  to: 2024-01-01\n",
     ["newsletters/recap.yaml:5: 'period.to' 2024-01-01 is before 'period.from' 2024-12-31"]),
    ("unknown-select-kind", ISSUE + "select:\n  kinds: [meetups]\n",
     ["newsletters/recap.yaml:7: kind 'meetups' is not known; did you mean 'meetup'?"]),
    ("unknown-select-kind-lists-kinds", ISSUE + "select:\n  kinds: [party]\n",
     ["newsletters/recap.yaml:7: kind 'party' is not known; use one of: conference, meetup, "
      "hackathon, docathon, webinar, social, meeting"]),
    ("bad-looking-ahead", ISSUE + "looking_ahead: -1\n",
     ["newsletters/recap.yaml:6: 'looking_ahead' must be true, false or a number of events, not -1"]),
    ("section-link-not-http", ISSUE + "sections:\n  - title: Talks\n    links:\n"
     "      - {title: x, url: 'javascript:alert(1)'}\n",
     ["newsletters/recap.yaml:9: 'sections[].links[].url' 'javascript:alert(1)' must be an http:// "
      "or https:// URL"]),
    ("section-without-title", ISSUE + "sections:\n  - body: text\n",
     ["newsletters/recap.yaml:7: missing required key 'sections[].title'"]),
    ("newline-in-title", 'title: "a\\nb"\n' + ISSUE.split("\n", 1)[1],
     ["newsletters/recap.yaml:1: 'title' must be one line; remove the line break (use 'summary' "
      "or 'description' for longer text)"]),
    ("lang-with-underscore", ISSUE + "lang: en_US\n",
     ["newsletters/recap.yaml:6: 'lang' 'en_US' is not a BCP 47 language tag CLDR knows; did you "
      "mean 'en-US'?"]),
    ("not-a-mapping", "- a\n",
     ["newsletters/recap.yaml:1: the file holds a list; a newsletter issue file must be a mapping "
      "of keys such as 'title:'"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BAD_ISSUES],
                         ids=[c[0] for c in BAD_ISSUES])
def test_bad_issue_is_reported_with_file_line_and_fix(write_yaml, check_problems, text, expected):
    write_yaml("events/a.yaml", EVENT)
    write_yaml("newsletters/recap.yaml", text)
    assert check_problems() == expected


def test_event_and_issue_problems_are_reported_together(write_yaml, check_problems):
    write_yaml("events/a.yaml", EVENT + "colour: red\n")
    write_yaml("newsletters/recap.yaml", ISSUE + "looking_ahead: many\n")
    assert check_problems() == [
        "events/a.yaml:4: unknown key 'colour'; allowed keys: id, title, kind, start, end, "
        "duration, timezone, status, location, url, summary, description, image, highlights, "
        "links, hosts, tags, recurrence, moved_from, source_uid",
        "newsletters/recap.yaml:6: 'looking_ahead' must be true, false or a number of events, "
        "not 'many'",
    ]


def test_issue_fields_are_read(write_yaml, tmp_path):
    write_yaml("newsletters/2024-recap.yaml", ISSUE + textwrap.dedent("""\
        subject: Looking back
        preheader: The year in events
        select: {kinds: [meetup], tags: [korea]}
        intro: Hello
        looking_ahead: 3
        lang: ko
        sections:
          - title: Webinars
            body: All **online**.
            links: [{title: Q&A, url: 'https://youtu.be/x'}]
        """))
    (issue,) = load_issues(tmp_path / "newsletters", Settings())
    assert (issue.id, issue.email_subject, issue.date) == ("2024-recap", "Looking back",
                                                           dt.date(2025, 1, 6))
    assert (issue.period_start, issue.period_end) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert (issue.kinds, issue.tags, issue.looking_ahead) == (("meetup",), ("korea",), 3)
    assert issue.lang == "ko"
    assert issue.sections == (Section("Webinars", "All **online**.",
                                      (Link("Q&A", "https://youtu.be/x"),)),)


@pytest.mark.parametrize(("value", "expected"), [("true", None), ("false", 0), ("5", 5)])
def test_looking_ahead_values(write_yaml, tmp_path, value, expected):
    write_yaml("newsletters/a.yaml", ISSUE + f"looking_ahead: {value}\n")
    (issue,) = load_issues(tmp_path / "newsletters", Settings())
    assert issue.looking_ahead == expected


def test_issues_are_newest_first_and_subject_defaults_to_title(write_yaml, tmp_path):
    write_yaml("newsletters/old.yaml", ISSUE.replace("2025-01-06", "2024-06-01"))
    write_yaml("newsletters/new.yaml", ISSUE)
    issues = load_issues(tmp_path / "newsletters", Settings())
    assert [i.id for i in issues] == ["new", "old"]
    assert issues[0].email_subject == "2024 recap"


def test_missing_newsletters_folder_is_not_an_error(tmp_path):
    assert load_issues(tmp_path / "newsletters", Settings()) == ()


def test_duplicate_issue_id_names_both_files_at_their_id_lines(write_yaml, check_problems):
    write_yaml("events/a.yaml", EVENT)
    write_yaml("newsletters/a.yaml", "id: recap\n" + ISSUE)
    write_yaml("newsletters/b.yaml", ISSUE + "id: recap\n")
    line = ISSUE.count("\n") + 1
    assert check_problems() == [f"newsletters/b.yaml:{line}: issue id 'recap' is already used by "
                                "newsletters/a.yaml:1; give this issue another id"]


def test_bundled_issue_loads(settings):
    (issue,) = load_issues(Path(__file__).resolve().parents[2] / "newsletters", settings)
    assert issue.id == "2024-recap" and issue.looking_ahead is None


# Regression tests: one per bug found.

def test_empty_period_is_reported(write_yaml, check_problems):
    # `period:` with no value passed validation and crashed later comparing None with dates.
    write_yaml("events/a.yaml", EVENT)
    write_yaml("newsletters/recap.yaml", "title: T\ndate: 2025-01-06\nperiod:\n")
    assert check_problems() == ["newsletters/recap.yaml:1: missing required key 'period' "
                                "({from: YYYY-MM-DD, to: YYYY-MM-DD})"]


def test_empty_issue_id_means_the_file_stem(write_yaml, tmp_path):
    # `id:` with no value gave an issue whose id (its output folder name) was "".
    write_yaml("newsletters/recap.yaml", "id:\n" + ISSUE)
    (issue,) = load_issues(tmp_path / "newsletters", Settings())
    assert issue.id == "recap"


def test_select_tag_that_is_not_a_slug_is_reported(write_yaml, check_problems):
    # Event tags are slugs, so `tags: [Korea]` selected nothing and nobody was told.
    write_yaml("events/a.yaml", EVENT)
    write_yaml("newsletters/recap.yaml", ISSUE + "select:\n  tags: [Korea]\n")
    assert check_problems() == ["newsletters/recap.yaml:7: tag 'Korea' is not a slug; use "
                                "lowercase letters, digits and '-'"]
