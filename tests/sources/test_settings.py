"""The settings file: defaults, every key read, every bad value one exact line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.sources.settings import BUILTIN_KINDS, FeedSpec, Settings, load_settings, parse_duration

EVENT = "title: A\nkind: meetup\nstart: 2024-11-30\n"

BAD_SETTINGS = [
    ("unknown-key", "calendar_colour: red\n",
     ["pipeline.yaml:1: unknown key 'calendar_colour'; did you mean 'calendar_color'?"]),
    ("base-url-not-http", "base_url: ftp://example.org/\n",
     ["pipeline.yaml:1: 'base_url' 'ftp://example.org/' must be an http:// or https:// URL"]),
    ("uid-domain", "uid_domain: my events\n",
     ["pipeline.yaml:1: 'uid_domain' 'my events' is not a domain name; write e.g. "
      "events.example.org"]),
    ("refresh-too-short", "refresh_interval: 10m\n",
     ["pipeline.yaml:1: 'refresh_interval' '10m' is not a duration of at least an hour; write e.g. "
      "12h or 1d"]),
    ("sender", "sender: newsletter\n",
     ["pipeline.yaml:1: 'sender' 'newsletter' is not an e-mail address; write e.g. PyTorch "
      "Foundation <newsletter@pytorch.org>"]),
    ("list-id", "list_id: -news\n",
     ["pipeline.yaml:1: 'list_id' '-news' must look like a domain name (RFC 2919), e.g. "
      "newsletter.pytorch.org"]),
    ("kind-not-slug", "kinds: [Reading Group]\n",
     ["pipeline.yaml:1: 'kinds' item 'Reading Group' is not a slug (a-z, 0-9, -)"]),
    ("wrong-type", "site_name: [a]\n", ["pipeline.yaml:1: 'site_name' must be text, not a list"]),
    ("feed-reserved-id", "feeds:\n  - {id: upcoming, name: U, kinds: [meetup]}\n",
     ["pipeline.yaml:2: feed id 'upcoming' is reserved; choose another"]),
    ("feed-unknown-kind", "feeds:\n  - {id: f, name: F, kinds: [meetups]}\n",
     ["pipeline.yaml:2: kind 'meetups' is not known; add it to 'kinds' or use one of: conference, "
      "meetup, hackathon, docathon, webinar, social, meeting"]),
    ("organizer-email", "organizer:\n  email: events at pytorch.org\n  nam: PyTorch\n",
     ["pipeline.yaml:2: 'organizer.email' 'events at pytorch.org' is not an e-mail address; "
      "write e.g. events@pytorch.org",
      "pipeline.yaml:3: unknown key 'organizer.nam'; did you mean 'name'?"]),
    ("organizer-url", "organizer: {url: 'mailto:a@b.org'}\n",
     ["pipeline.yaml:1: 'organizer.url' 'mailto:a@b.org' must be an http:// or https:// URL"]),
    ("feed-without-selection", "feeds:\n  - {id: f, name: F}\n",
     ["pipeline.yaml:2: a feed needs 'kinds' or 'tags' to select its events"]),
    ("feed-twice", "feeds:\n  - {id: f, name: F, tags: [a]}\n  - {id: f, name: G, tags: [b]}\n",
     ["pipeline.yaml:3: feed id 'f' is used twice"]),
    ("feed-not-mapping", "feeds: [korea]\n",
     ["pipeline.yaml:1: each feed must be a mapping with 'id', 'name' and 'kinds' or 'tags'"]),
    ("not-a-mapping", "- a\n",
     ["pipeline.yaml:1: the file holds a list; a settings file must be a mapping of keys such as "
      "'site_name:'"]),
    ("locale-country-code", "locale: kr\n",
     ["pipeline.yaml:1: 'locale' 'kr' is not a BCP 47 language tag CLDR knows; did you mean "
      "'ko'?"]),
    ("locale-not-a-language", "locale: english\n",
     ["pipeline.yaml:1: 'locale' 'english' is not a BCP 47 language tag CLDR knows; use a BCP 47 "
      "tag such as 'en', 'ko', 'fr' or 'pt-BR'"]),
    ("empty", "\n",
     ["pipeline.yaml:1: the file is empty; a settings file is a YAML mapping of keys such as "
      "'site_name:'"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BAD_SETTINGS],
                         ids=[c[0] for c in BAD_SETTINGS])
def test_bad_settings_file_is_reported(write_yaml, check_problems, text, expected):
    write_yaml("events/a.yaml", EVENT)
    write_yaml("pipeline.yaml", text)
    assert check_problems() == expected


def test_config_option_names_the_file(write_yaml, check_problems):
    write_yaml("events/a.yaml", EVENT)
    write_yaml("conf/site.yaml", "base_url: example.org\n")
    assert check_problems("--config", "conf/site.yaml") == [
        "conf/site.yaml:1: 'base_url' 'example.org' must be an http:// or https:// URL"]


def test_missing_config_file_is_reported(write_yaml, check_problems):
    write_yaml("events/a.yaml", EVENT)
    assert check_problems("--config", "nope.yaml") == [
        "nope.yaml: cannot read the file: No such file or directory"]


def test_no_settings_file_gives_the_defaults(in_tmp):
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.kinds == BUILTIN_KINDS
    assert (settings.uid_host, settings.feed_name, settings.list_identifier) == (
        "localhost", "Community events", "newsletter.localhost")


def test_every_key_is_read(write_yaml, tmp_path):
    path = write_yaml("pipeline.yaml", """\
        site_name: PyTorch Community
        base_url: https://pytorch.org/community
        uid_domain: pytorch.org
        calendar_name: PyTorch Events
        calendar_description: All of them.
        calendar_color: "#ee4c2c"
        refresh_interval: 1d
        sender: PyTorch <news@pytorch.org>
        list_id: news.pytorch.org
        kinds: [sprint, meetup]
        locale: fr-CA
        feeds:
          - {id: sprints, name: Sprints, description: Code sprints., kinds: [sprint]}
          - {id: korea, name: Korea, tags: [korea]}
        """)
    settings = load_settings(path)
    assert settings == Settings(
        site_name="PyTorch Community", base_url="https://pytorch.org/community/",
        uid_domain="pytorch.org", calendar_name="PyTorch Events",
        calendar_description="All of them.", calendar_color="#ee4c2c",
        refresh_interval=dt.timedelta(days=1), sender="PyTorch <news@pytorch.org>",
        list_id="news.pytorch.org", kinds=(*BUILTIN_KINDS, "sprint"),
        feeds=(FeedSpec("sprints", "Sprints", "Code sprints.", ("sprint",)),
               FeedSpec("korea", "Korea", tags=("korea",))), locale="fr-CA")
    assert settings.absolute_url("/calendar/upcoming.ics") == (
        "https://pytorch.org/community/calendar/upcoming.ics")


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", dt.timedelta(minutes=90)), ("2h", dt.timedelta(hours=2)),
    ("1h30m", dt.timedelta(minutes=90)), ("1d", dt.timedelta(days=1)),
    ("0m", None), ("90", None), ("h", None), ("", None), ("1m2h", None)])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


def test_bundled_settings_load():
    settings = load_settings(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    assert settings.uid_host == "pytorch.org"
    assert [feed.id for feed in settings.feeds] == ["conferences", "hackathons", "korea"]


def test_empty_feed_kinds_is_reported(write_yaml, check_problems):
    # `kinds:` with no value passed, and a feed with no kinds and no tags selects every event.
    write_yaml("events/a.yaml", EVENT)
    write_yaml("pipeline.yaml", "feeds:\n  - id: f\n    name: F\n    kinds:\n")
    assert check_problems() == ["pipeline.yaml:2: a feed needs 'kinds' or 'tags' to select its "
                                "events"]


def test_base_url_with_a_query_is_reported(write_yaml, check_problems):
    # Paths were appended after the query: https://x.org/?v=1/calendar/upcoming.ics.
    write_yaml("events/a.yaml", EVENT)
    write_yaml("pipeline.yaml", "base_url: https://x.org/?v=1\n")
    assert check_problems() == ["pipeline.yaml:1: 'base_url' 'https://x.org/?v=1' must not have a "
                                "query (?...) or a fragment (#...); give the folder where output/ "
                                "is served"]


def test_sender_with_two_addresses_is_reported(write_yaml, check_problems):
    # Only the first address was checked, so a From header with two mailboxes passed.
    write_yaml("events/a.yaml", EVENT)
    write_yaml("pipeline.yaml", "sender: News <news@example.org>, other@example.org\n")
    assert check_problems() == ["pipeline.yaml:1: 'sender' 'News <news@example.org>, "
                                "other@example.org' is not an e-mail address; write e.g. PyTorch "
                                "Foundation <newsletter@pytorch.org>"]


def test_organizer_defaults_to_site_name_sender_and_base_url(tmp_path: Path) -> None:
    from pipeline.sources.settings import Organizer

    path = tmp_path / "pipeline.yaml"
    path.write_text("site_name: PyTorch\nsender: News <news@pytorch.org>\n"
                    "base_url: https://pytorch.org/\norganizer:\n  email: events@pytorch.org\n")
    settings = load_settings(path)
    assert settings.organizer == Organizer(email="events@pytorch.org")
    assert settings.organizer_of_events == Organizer("PyTorch", "events@pytorch.org",
                                                     "https://pytorch.org/")
    assert Settings().organizer_of_events == Organizer("Community events",
                                                       "newsletter@localhost",
                                                       "http://localhost:8000/")
