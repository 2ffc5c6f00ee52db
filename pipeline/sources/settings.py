"""Site-wide settings: one optional YAML file at the repository root, every key defaulted."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.locales import DEFAULT_LOCALE
from pipeline.sources.branding import Branding, read_branding
from pipeline.sources.fields import SLUG, Fields, read_fields
from pipeline.sources.site import SETTINGS_FILE
from pipeline.sources.yamlsource import excerpt

BUILTIN_KINDS = ("conference", "meetup", "hackathon", "docathon", "webinar", "social", "meeting")
DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
RESERVED_FEEDS = ("upcoming", "events")  # calendar/upcoming.ics and calendar/events/


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """An extra feed `calendar/<id>.ics`: upcoming events of some kinds and/or tags."""

    id: str
    name: str
    description: str = ""
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Organizer:
    """Who publishes the calendar (ORGANIZER of every event); None: the settings' default."""

    name: str | None = None  # default: site_name
    email: str | None = None  # default: the sender's address
    url: str | None = None  # default: base_url


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything site-wide; the defaults build a folder holding only `events/`."""

    site_name: str = "Community events"
    base_url: str = "http://localhost:8000/"
    uid_domain: str = ""  # empty: the host of base_url
    calendar_name: str = ""  # empty: "<site_name>"
    calendar_description: str = ""  # empty: "Upcoming events of <site_name>"
    calendar_color: str | None = None
    refresh_interval: dt.timedelta = dt.timedelta(hours=12)
    sender: str = "Newsletter <newsletter@localhost>"
    list_id: str = ""  # empty: "newsletter.<uid_domain>"
    kinds: tuple[str, ...] = BUILTIN_KINDS
    feeds: tuple[FeedSpec, ...] = ()
    organizer: Organizer = Organizer()
    branding: Branding = field(default_factory=Branding)
    locale: str = DEFAULT_LOCALE  # BCP 47; an issue's `lang:` overrides it
    source: str = field(default="", compare=False)
    # The site folder: its templates/email/ overrides the packaged theme (None: theme only).
    site: Path | None = field(default=None, compare=False)

    @property
    def uid_host(self) -> str:
        """The domain after `@` in every UID."""
        return self.uid_domain or urlsplit(self.base_url).hostname or "localhost"

    @property
    def feed_name(self) -> str:
        """The calendar's display name (NAME / X-WR-CALNAME)."""
        return self.calendar_name or self.site_name

    @property
    def feed_description(self) -> str:
        """The calendar's description (DESCRIPTION / X-WR-CALDESC)."""
        return self.calendar_description or f"Upcoming events of {self.site_name}"

    @property
    def list_identifier(self) -> str:
        """The List-Id of the newsletter (RFC 2919), without the angle brackets."""
        return self.list_id or f"newsletter.{self.uid_host}"

    @property
    def organizer_of_events(self) -> Organizer:
        """The organizer with every default filled in: name, e-mail address and web page."""
        return Organizer(self.organizer.name or self.site_name,
                         self.organizer.email or getaddresses([self.sender])[0][1],
                         self.organizer.url or self.base_url)

    def absolute_url(self, path: str) -> str:
        """`path` under the publish root's public address (`calendar/upcoming.ics` -> URL)."""
        return self.base_url + path.lstrip("/")


KEYS = ("site_name", "base_url", "uid_domain", "calendar_name", "calendar_description",
        "calendar_color", "refresh_interval", "sender", "list_id", "kinds", "feeds",
        "organizer", "branding", "locale")
ORGANIZER_KEYS = ("name", "email", "url")
EMAIL = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
FEED_KEYS = ("id", "name", "description", "kinds", "tags")


MAX_REFRESH = dt.timedelta(days=366)  # longer is a typo; clients would never look again


def parse_duration(value: str) -> dt.timedelta | None:
    """`90m`, `2h`, `1h30m`, `1d` as a timedelta; None when malformed or zero."""
    match = DURATION.match(value.replace(" ", ""))
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    try:
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes)
    except OverflowError:  # more than 999,999,999 days: longer than any bound callers set
        return dt.timedelta.max
    return delta or None


def load_settings(path: Path | None, site: Path | None = None) -> Settings:
    """Read the settings file; `None` or a missing default file gives the defaults."""
    settings, problems = read_settings(path, site)
    if problems:
        raise InvalidInput(problems)
    return settings


def read_settings(path: Path | None, site: Path | None = None) -> tuple[Settings, list[Problem]]:
    """The settings with every valid key applied, and the problems of the others.

    `path` None: ./pipeline.yaml when `site` is None and it exists, else the defaults.
    `site`: the site folder whose templates/ override the theme. The build checks events
    against these best-effort settings even when the file has problems, so that one run
    lists every problem of every file.
    """
    if path is None and site is None and Path(SETTINGS_FILE).exists():
        path = Path(SETTINGS_FILE)
    if path is None:
        return Settings(site=site), []
    problems: list[Problem] = []
    # The settings file is the operator's own: a symlink (/etc/...) is followed.
    fields = read_fields(path, display_path(path), "settings", problems, follow_symlinks=True)
    settings = _settings_from(fields) if fields else Settings()
    return replace(settings, site=site), problems


def _settings_from(fields: Fields) -> Settings:
    fields.reject_unknown(KEYS)
    values: dict = {"source": fields.path}
    for key in ("site_name", "calendar_name", "calendar_description", "calendar_color"):
        # site_name goes into the e-mail's List-Id header.
        value = (fields.header_text(key) if key == "site_name" else
                 fields.text(key, one_line=True))
        if value is not None:
            values[key] = value
    base_url = fields.url("base_url")
    if base_url is not None and (urlsplit(base_url).query or urlsplit(base_url).fragment):
        # Paths are appended to base_url: 'https://x.org/?v=1' would give '?v=1/calendar/...'.
        fields.error("base_url", f"'base_url' {excerpt(base_url)} must not have a query (?...) or a "
                     "fragment (#...); give the folder where output/ is served")
    elif base_url is not None:
        values["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    domain = _matching(fields, "uid_domain", r"[A-Za-z0-9.-]+",
                       "is not a domain name; write e.g. events.example.org")
    if domain is not None:
        values["uid_domain"] = domain
    interval = fields.text("refresh_interval", one_line=True)
    if interval is not None:
        delta = parse_duration(interval)
        if delta is None or delta < dt.timedelta(hours=1):
            fields.error("refresh_interval", f"'refresh_interval' {excerpt(interval)} is not a "
                         "duration of at least an hour; write e.g. 12h or 1d")
        elif delta > MAX_REFRESH:
            fields.error("refresh_interval", f"'refresh_interval' {interval} is longer than "
                         f"{MAX_REFRESH.days} days; write e.g. 12h or 1d")
        else:
            values["refresh_interval"] = delta
    sender = fields.header_text("sender")  # the From header
    if sender is not None:
        # parseaddr() reads only the first of "a@x.org, b@y.org": From must hold one address.
        addresses = getaddresses([sender])
        if len(addresses) != 1 or "@" not in addresses[0][1]:
            fields.error("sender", f"'sender' {excerpt(sender)} is not an e-mail address; write "
                         "e.g. PyTorch Foundation <newsletter@pytorch.org>")
        else:
            values["sender"] = sender
    list_id = _matching(fields, "list_id", r"[A-Za-z0-9][A-Za-z0-9.-]*",
                        "must look like a domain name (RFC 2919), e.g. newsletter.pytorch.org")
    if list_id is not None:
        values["list_id"] = list_id
    extra = [k for k in fields.text_list("kinds", lambda k, _: _slug_problem("kinds", k))
             if k not in BUILTIN_KINDS]
    values["kinds"] = BUILTIN_KINDS + tuple(dict.fromkeys(extra))
    values["feeds"] = _feeds(fields, values["kinds"])
    organizer = _organizer(fields)
    if organizer is not None:
        values["organizer"] = organizer
    branding = read_branding(fields)
    if branding is not None:
        values["branding"] = branding
    locale = fields.locale("locale")
    if locale is not None:
        values["locale"] = locale
    return Settings(**values)


def _organizer(fields: Fields) -> Organizer | None:
    """`organizer: {name, email, url}`: who the calendar's events say publishes them."""
    given = fields.mapping("organizer", "{name: ..., email: ..., url: https://...}")
    if given is None:
        return None
    given.reject_unknown(ORGANIZER_KEYS)
    email = _matching(given, "email", EMAIL.pattern.strip("^$"), "is not an e-mail address; "
                      "write e.g. events@pytorch.org")
    return Organizer(given.text("name", one_line=True), email, given.url("url"))


def _matching(fields: Fields, key: str, pattern: str, complaint: str) -> str | None:
    """A one-line text that fully matches `pattern`; otherwise `'key' 'value' <complaint>`."""
    value = fields.text(key, one_line=True)
    if value is not None and not re.fullmatch(pattern, value):
        fields.error(key, f"'{fields.name(key)}' {excerpt(value)} {complaint}")
        return None
    return value


def _slug_problem(key: str, value: str) -> str | None:
    return None if SLUG.match(value) else f"'{key}' item {excerpt(value)} is not a slug (a-z, 0-9, -)"


def _feeds(fields: Fields, kinds: tuple[str, ...]) -> tuple[FeedSpec, ...]:
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for feed in fields.mappings("feeds", FEED_KEYS, "each feed must be a mapping with 'id', "
                                "'name' and 'kinds' or 'tags'"):
        feed_id = feed.slug("id", required=True)
        name = feed.text("name", required=True, one_line=True)
        feed_kinds = feed.text_list("kinds", lambda k, _: None if k in kinds else
                                    f"kind '{k}' is not known; add it to 'kinds' or use one "
                                    f"of: {', '.join(kinds)}")
        tags = feed.text_list("tags", lambda t, _: _slug_problem("tags", t))
        # Empty `kinds:`/`tags:` would select every event; rejected items were reported already.
        if not feed.data.get("kinds") and not feed.data.get("tags"):
            feed.error(None, "a feed needs 'kinds' or 'tags' to select its events")
        if feed_id in RESERVED_FEEDS:
            feed.error("id", f"feed id '{feed_id}' is reserved; choose another")
        elif feed_id in seen:
            feed.error("id", f"feed id '{feed_id}' is used twice")
        elif feed_id and name:
            seen.add(feed_id)
            feeds.append(FeedSpec(feed_id, name, feed.text("description") or "",
                                  feed_kinds, tags))
    return tuple(feeds)
