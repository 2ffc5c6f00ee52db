"""Site-wide settings: one optional YAML file at the repository root, every key defaulted."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.sources.fields import SLUG, Fields, read_fields

SETTINGS_FILE = "pipeline.yaml"
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
    source: str = field(default="", compare=False)

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

    def absolute_url(self, path: str) -> str:
        """`path` under the publish root's public address (`calendar/upcoming.ics` -> URL)."""
        return self.base_url + path.lstrip("/")


KEYS = ("site_name", "base_url", "uid_domain", "calendar_name", "calendar_description",
        "calendar_color", "refresh_interval", "sender", "list_id", "kinds", "feeds")
FEED_KEYS = ("id", "name", "description", "kinds", "tags")


def parse_duration(value: str) -> dt.timedelta | None:
    """`90m`, `2h`, `1h30m`, `1d` as a timedelta; None when malformed or zero."""
    match = DURATION.match(value.replace(" ", ""))
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    delta = dt.timedelta(days=days, hours=hours, minutes=minutes)
    return delta or None


def load_settings(path: Path | None) -> Settings:
    """Read the settings file; `None` or a missing default file gives the defaults."""
    settings, problems = read_settings(path)
    if problems:
        raise InvalidInput(problems)
    return settings


def read_settings(path: Path | None) -> tuple[Settings, list[Problem]]:
    """The settings with every valid key applied, and the problems of the others.

    The build checks events against these best-effort settings even when the file has
    problems, so that one run lists every problem of every file.
    """
    if path is None:
        path = Path(SETTINGS_FILE)
        if not path.exists():
            return Settings(), []
    problems: list[Problem] = []
    fields = read_fields(path, display_path(path), "settings", problems)
    return (_settings_from(fields) if fields else Settings()), problems


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
        fields.error("base_url", f"'base_url' {base_url!r} must not have a query (?...) or a "
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
            fields.error("refresh_interval", f"'refresh_interval' {interval!r} is not a "
                         "duration of at least an hour; write e.g. 12h or 1d")
        else:
            values["refresh_interval"] = delta
    sender = fields.header_text("sender")  # the From header
    if sender is not None:
        # parseaddr() reads only the first of "a@x.org, b@y.org": From must hold one address.
        addresses = getaddresses([sender])
        if len(addresses) != 1 or "@" not in addresses[0][1]:
            fields.error("sender", f"'sender' {sender!r} is not an e-mail address; write "
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
    return Settings(**values)


def _matching(fields: Fields, key: str, pattern: str, complaint: str) -> str | None:
    """A one-line text that fully matches `pattern`; otherwise `'key' 'value' <complaint>`."""
    value = fields.text(key, one_line=True)
    if value is not None and not re.fullmatch(pattern, value):
        fields.error(key, f"'{key}' {value!r} {complaint}")
        return None
    return value


def _slug_problem(key: str, value: str) -> str | None:
    return None if SLUG.match(value) else f"'{key}' item {value!r} is not a slug (a-z, 0-9, -)"


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
