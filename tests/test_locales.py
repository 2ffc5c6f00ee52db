"""Locales: CLDR formats per language, text direction, and catalogs that cover every string."""
# ruff: noqa: RUF001  (CJK punctuation, full-width letters and CLDR en dashes on purpose)

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import babel.dates
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from conftest import ROOT

from pipeline.locales import LOCALE_DIR, available_catalogs, locale_problem, localizer

SEOUL = ZoneInfo("Asia/Seoul")
START = dt.datetime(2025, 1, 8, 14, 0, tzinfo=SEOUL)
END = dt.datetime(2025, 1, 8, 15, 30, tzinfo=SEOUL)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize(("tag", "day", "days", "times", "listed"), [
    ("en", "January 6, 2025", "Oct 22\u2009–\u200923, 2025", "14:00\u2009–\u200915:30", "A, B, and C"),
    ("ko", "2025년 1월 6일", "2025년 10월 22일~23일", "14:00 ~ 15:30", "A, B 및 C"),
    ("fr", "6 janvier 2025", "22–23 oct. 2025", "14:00\u2009–\u200915:30", "A, B et C"),
])
def test_dates_ranges_times_and_lists_follow_cldr(tag, day, days, times, listed) -> None:
    words = localizer(tag)
    assert words.day(dt.date(2025, 1, 6)) == day
    assert words.days(dt.date(2025, 10, 22), dt.date(2025, 10, 23)) == days
    assert words.times(START, END) == times
    assert words.join(["A", "B", "C"]) == listed


def test_wall_clock_stays_in_the_events_zone() -> None:
    # 14:00 in Seoul is 05:00 UTC: times show the zone they come in (the event's own).
    assert localizer("en").times(START, END) == "14:00\u2009–\u200915:30"
    assert localizer("en").times(START.astimezone(dt.UTC), END) == "05:00\u2009–\u200906:30"
    assert localizer("ko").moment(START) == "2025년 1월 8일 수요일 14:00"


@pytest.mark.parametrize(("tag", "direction"), [
    ("en", "ltr"), ("ko", "ltr"), ("ar", "rtl"), ("he", "rtl"), ("fa", "rtl"), ("ur", "rtl"),
    ("ar-EG", "rtl")])
def test_direction_comes_from_cldr(tag, direction) -> None:
    assert localizer(tag).direction == direction


@pytest.mark.parametrize(("tag", "hint"), [
    ("kr", "did you mean 'ko'?"), ("en_US", "did you mean 'en-US'?"),
    ("english", "use a BCP 47 tag such as 'en', 'ko', 'fr' or 'pt-BR'")])
def test_unknown_locale_gets_a_suggestion(tag, hint) -> None:
    assert locale_problem(tag) == f"'{tag}' is not a BCP 47 language tag CLDR knows; {hint}"


def test_a_language_without_a_catalog_falls_back_to_english_words() -> None:
    words = localizer("de")
    assert words.gettext("Looking ahead") == "Looking ahead"
    assert words.day(dt.date(2025, 1, 6)) == "6. Januar 2025"  # CLDR still formats dates


def test_english_korean_and_french_catalogs_ship_compiled() -> None:
    assert set(available_catalogs()) >= {"en", "ko", "fr"}
    assert localizer("ko").gettext("Looking ahead") == "다가오는 행사"
    assert localizer("fr").ngettext("Repeats every %(num)d week", "Repeats every %(num)d weeks",
                                    2) % {"num": 2} == "Toutes les 2 semaines"


def extracted() -> dict[str, int]:
    """Every message id of the code and templates, as `pybabel extract -F babel.cfg` finds them."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for _, _, message, _, _ in extract_from_dir(
            ROOT, method_map, options_map,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
        found[message if isinstance(message, str) else message[0]] = 1
    return found


@pytest.mark.parametrize("lang", ["en", "ko", "fr"])
def test_catalog_translates_every_string_with_its_placeholders(lang) -> None:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"{lang}: {key!r} is not translated"
        # pybabel update's guesses are fuzzy, and compile leaves them out of the .mo.
        assert not message.fuzzy, f"{lang}: {key!r} is fuzzy: check the translation, drop the flag"
        source = set(PLACEHOLDER.findall(key))
        assert all(set(PLACEHOLDER.findall(s)) == source for s in strings), (lang, key)
        translated[key] = 1
    missing = sorted(set(extracted()) - set(translated))
    assert missing == [], f"run pybabel extract/update (docs/newsletter.md); missing: {missing}"


@pytest.mark.parametrize("lang", ["en", "ko", "fr"])
def test_compiled_catalog_matches_its_po_file(lang) -> None:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as po:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(po))
    assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), (
        f"run pybabel compile -d pipeline/locale: {lang}'s .mo is older than its .po")


@pytest.mark.parametrize("tag", ["en", "ko", "fr", "ar", "de", "ja", "pt-BR"])
def test_skeleton_patterns_found_once_format_as_babel_does_every_time(tag) -> None:
    # The pattern of a skeleton is looked up once per locale (Babel's own lookup was a fifth
    # of a build's time); the text must stay what format_skeleton writes.
    words = localizer(tag)
    seoul = dt.datetime(2025, 1, 8, 14, 5, tzinfo=ZoneInfo("Asia/Seoul"))
    for day in (dt.date(2025, 1, 8), dt.date(2024, 2, 29), dt.date(2030, 12, 31)):
        assert words.weekday_day(day) == babel.dates.format_skeleton(
            "yMMMMEEEEd", day, locale=words.locale)
    assert words.moment(seoul).endswith(babel.dates.format_skeleton(
        "Hm", seoul, tzinfo=seoul.tzinfo, locale=words.locale))
