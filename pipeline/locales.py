"""Locales for every output: BCP 47 tags, text direction, gettext catalogs and CLDR formats."""

from __future__ import annotations

import datetime as dt
import difflib
import gettext
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import babel
import babel.dates
import babel.lists
import jinja2
from babel.core import get_global
from babel.localedata import locale_identifiers
from babel.support import Translations

DEFAULT_LOCALE = "en"
# Catalogs shipped in the package: pipeline/locale/<lang>/LC_MESSAGES/messages.{po,mo}.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


@cache
def _known_tags() -> tuple[str, ...]:
    """Every CLDR locale Babel knows, spelled as BCP 47 (`pt-BR`, not `pt_BR`)."""
    return tuple(sorted(i.replace("_", "-") for i in locale_identifiers()))


def locale_problem(tag: str) -> str | None:
    """None for a BCP 47 tag CLDR knows; else what is wrong and the nearest known tag."""
    if parse(tag) is not None:
        return None
    close = [_country_language(tag)] if _country_language(tag) else \
        difflib.get_close_matches(tag.replace("_", "-"), _known_tags(), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else \
        "; use a BCP 47 tag such as 'en', 'ko', 'fr' or 'pt-BR'"
    return f"'{tag}' is not a BCP 47 language tag CLDR knows{hint}"


def _country_language(tag: str) -> str | None:
    """The main official language of a country code written as a language (`kr` -> `ko`)."""
    spoken = get_global("territory_languages").get(tag.upper()) if len(tag) == 2 else None
    if not spoken:
        return None
    return max(spoken, key=lambda lang: ((spoken[lang].get("official_status") or "").endswith(
        "official"), spoken[lang]["population_percent"])).replace("_", "-")


@cache
def parse(tag: str) -> babel.Locale | None:
    """The Babel locale of a BCP 47 tag (`ko`, `pt-BR`, `zh-Hant-TW`), or None."""
    if not tag or "_" in tag:
        return None
    try:
        return babel.Locale.parse(tag, sep="-")
    except (ValueError, babel.UnknownLocaleError):
        return None


@cache
def skeleton_pattern(locale: babel.Locale, skeleton: str) -> babel.dates.DateTimePattern:
    """The locale's pattern for a CLDR skeleton, as `format_skeleton` finds it.

    Found once per locale and skeleton: Babel matches the skeleton against every pattern of
    the locale on each call, which was a fifth of a build's time (1,000 event pages).
    """
    skeletons = locale.datetime_skeletons
    return skeletons[skeleton if skeleton in skeletons
                     else babel.dates.match_skeleton(skeleton, skeletons)]


@dataclass(frozen=True)
class Localizer:
    """One locale's words and formats: gettext catalog, direction and CLDR date formats."""

    tag: str  # as written (BCP 47), for `lang=` attributes
    locale: babel.Locale
    translations: gettext.NullTranslations

    @property
    def direction(self) -> str:
        """`rtl` for Arabic, Hebrew, Persian, Urdu, ...; else `ltr` (from CLDR)."""
        return "rtl" if self.locale.character_order == "right-to-left" else "ltr"

    def gettext(self, message: str) -> str:
        """The translation of a fixed string (the English source when none)."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The translation of a count-dependent string."""
        return self.translations.ngettext(singular, plural, n)

    def day(self, day: dt.date) -> str:
        """A date in full: `January 6, 2025`, `2025년 1월 6일`, `6 janvier 2025`."""
        return babel.dates.format_date(day, "long", locale=self.locale)

    def days(self, first: dt.date, last: dt.date) -> str:
        """A range of days as CLDR writes it: `Sep 18 - 19, 2024`."""
        if first == last:
            return self.day(first)
        return babel.dates.format_interval(first, last, "yMMMMd", locale=self.locale)

    def weekday_day(self, day: dt.date) -> str:
        """A weekday and date: `Monday, January 6, 2025`."""
        return babel.dates.format_date(day, skeleton_pattern(self.locale, "yMMMMEEEEd"),
                                       locale=self.locale)

    def times(self, start: dt.datetime, end: dt.datetime) -> str:
        """Wall-clock start and end of one day (24-hour): `18:00 - 20:00`."""
        return babel.dates.format_interval(start, end, "Hm", tzinfo=start.tzinfo,
                                           locale=self.locale)

    def clock(self, when: dt.datetime) -> str:
        """A wall-clock time alone (24-hour): `02:00`."""
        return babel.dates.format_time(when, skeleton_pattern(self.locale, "Hm"),
                                       tzinfo=when.tzinfo, locale=self.locale)

    def moment(self, when: dt.datetime) -> str:
        """A date and wall-clock time: `Tuesday, January 7, 2025, 02:00`."""
        # CLDR has no skeleton for both at once; the catalog's pattern joins them.
        return self.gettext("%(day)s, %(times)s") % {"day": self.weekday_day(when.date()),
                                                      "times": self.clock(when)}

    def span(self, start: dt.date, end: dt.date) -> str:
        """From `start` to the exclusive `end`: the days (dates), or a day and its times."""
        if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
            return self.days(start, end - dt.timedelta(days=1))
        if end.date() == start.date():
            return self.gettext("%(day)s, %(times)s") % {"day": self.weekday_day(start.date()),
                                                          "times": self.times(start, end)}
        return self.gettext("%(start)s to %(end)s") % {"start": self.moment(start),
                                                        "end": self.moment(end)}

    def install(self, env: jinja2.Environment) -> jinja2.Environment:
        """`env` (with `jinja2.ext.i18n`) speaking this language: `_()`, `ngettext()`, `{% trans %}`."""
        # newstyle: `_("... %(name)s", name=x)` formats and autoescapes like any other value.
        env.install_gettext_translations(self.translations, newstyle=True)  # type: ignore[attr-defined]
        return env

    def join(self, items: Iterable[str]) -> str:
        """`A, B and C` in the locale's words (CLDR list patterns)."""
        listed = list(items)
        return babel.lists.format_list(listed, locale=self.locale) if listed else ""


def first_localizer(*tags: str | None) -> Localizer:
    """The Localizer of the first tag given: e.g. a page's `lang`, then the site's `locale`."""
    return localizer(next((tag for tag in tags if tag), DEFAULT_LOCALE))


@cache
def localizer(tag: str = DEFAULT_LOCALE) -> Localizer:
    """The Localizer of a valid tag (validated at the edge: see `locale_problem`)."""
    locale = parse(tag)
    if locale is None:
        raise ValueError(locale_problem(tag))
    # Translations.load falls back from `pt_BR` to `pt`, then to the English source strings.
    found = Translations.load(str(LOCALE_DIR), [str(locale), locale.language], DOMAIN)
    return Localizer(tag, locale, found)


def available_catalogs() -> tuple[str, ...]:
    """The languages with a shipped catalog, e.g. ('en', 'fr', 'ko')."""
    return tuple(sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")))
