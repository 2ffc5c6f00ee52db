"""What one issue says, as plain data both templates (MJML and text) render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup

from pipeline import selection
from pipeline.calendar.links import UPCOMING_PATH, EventLinks, FeedLinks, event_links, feed_links
from pipeline.errors import InvalidInput, Problem
from pipeline.locales import Localizer, first_localizer
from pipeline.model import Event, Image, Issue, Link, Occurrence, Status
from pipeline.newsletter.markdown import (
    ALLOWED_SCHEMES,
    inline_markdown_to_html,
    inline_markdown_to_text,
    link_targets,
    markdown_to_html,
    markdown_to_text,
)
from pipeline.sources.settings import Settings

# The send step replaces this, per recipient, in the .eml's headers, HTML and text.
UNSUBSCRIBE_PLACEHOLDER = "{{UNSUBSCRIBE_URL}}"


@dataclass(frozen=True, slots=True)
class Prose:
    """Markdown rendered twice: sanitised HTML for MJML, wrapped plain text."""

    html: Markup
    text: str


@dataclass(frozen=True, slots=True)
class EventCard:
    """One event as the issue shows it."""

    title: str
    url: str | None
    when: str
    where: str
    status: str | None  # "Cancelled" / "Tentative", or None
    repeats: str | None  # "Repeats weekly", or None
    picture: Image | None  # src made absolute
    summary: str | None
    description: Prose | None
    highlights: tuple[Prose, ...]
    links: tuple[Link, ...]
    hosts: str
    calendar: EventLinks | None  # add-to-calendar links, upcoming events only


@dataclass(frozen=True, slots=True)
class SectionContent:
    """An editorial section."""

    title: str
    body: Prose | None
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class IssueContent:
    """Everything the templates of one issue read."""

    id: str
    lang: str  # BCP 47, for `lang=`
    dir: str  # `ltr` or `rtl`, for `dir=`
    title: str
    subject: str
    preheader: str
    date: str
    period: str
    intro: Prose | None
    outro: Prose | None
    past: tuple[EventCard, ...]
    sections: tuple[SectionContent, ...]
    upcoming: tuple[EventCard, ...]
    show_looking_ahead: bool
    subscribe: FeedLinks
    site_name: str
    web_url: str  # this issue's web page ("view in browser")
    archive_url: str
    feed_url: str  # the Atom feed of issues
    unsubscribe_url: str
    for_email: bool  # False: the web page, which has no unsubscribe link to fill


def issue_content(events: tuple[Event, ...], issue: Issue, settings: Settings,
                  for_email: bool) -> IssueContent:
    """The issue's content; relative or disallowed links in Markdown raise InvalidInput."""
    problems: list[Problem] = []
    words = issue_localizer(issue, settings)
    builder = _Builder(settings, problems, words)
    past = tuple(builder.card(event, None) for event in selection.past_events(events, issue))
    as_of = selection.start_of_day(issue.date)
    upcoming = tuple(builder.card(event, event.next_occurrence(as_of))
                     for event in selection.looking_ahead(events, issue))
    sections = tuple(SectionContent(s.title, builder.prose(s.body, issue.source, "sections"),
                                    s.links) for s in issue.sections)
    content = IssueContent(
        id=issue.id, lang=words.tag, dir=words.direction, title=issue.title,
        subject=issue.email_subject, preheader=issue.preheader or issue.title,
        date=words.day(issue.date), period=words.days(issue.period_start, issue.period_end),
        intro=builder.prose(issue.intro, issue.source, "intro"),
        outro=builder.prose(issue.outro, issue.source, "outro"),
        past=past, sections=sections, upcoming=upcoming,
        show_looking_ahead=issue.looking_ahead != 0,
        subscribe=feed_links(UPCOMING_PATH, settings), site_name=settings.site_name,
        web_url=issue_url(issue, settings), archive_url=settings.absolute_url("newsletter/"),
        feed_url=settings.absolute_url("newsletter/feed.xml"),
        unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER, for_email=for_email)
    if problems:
        raise InvalidInput(problems)
    return content


def issue_localizer(issue: Issue, settings: Settings) -> Localizer:
    """The issue's `lang`, or else the site's `locale`."""
    return first_localizer(issue.lang, settings.locale)


def issue_url(issue: Issue, settings: Settings) -> str:
    """The issue's web address."""
    return settings.absolute_url(f"newsletter/{issue.id}/")


class _Builder:
    """Turns events and Markdown into content, collecting problems with their files."""

    def __init__(self, settings: Settings, problems: list[Problem], words: Localizer) -> None:
        self.settings = settings
        self.problems = problems
        self.words = words

    def prose(self, markdown: str | None, source: str, key: str) -> Prose | None:
        if not markdown:
            return None
        self.check_links(markdown, source, key)
        return Prose(Markup(markdown_to_html(markdown)), markdown_to_text(markdown))

    def check_links(self, markdown: str, source: str, key: str) -> None:
        # Checked here, not only in preflight, so that the message names the right file.
        for target in link_targets(markdown):
            if not allowed_url(target):
                self.problems.append(Problem(source, 0, (
                    f"the link '{target}' in '{key}' is not an absolute URL an e-mail can "
                    f"open; write it in full, e.g. {self.settings.absolute_url(target)}")))

    def card(self, event: Event, occurrence: Occurrence | None) -> EventCard:
        highlights = []
        for line in event.highlights:
            self.check_links(line, event.source, "highlights")
            highlights.append(Prose(Markup(inline_markdown_to_html(line)),
                                    inline_markdown_to_text(line)))
        picture = None
        if event.image is not None:
            picture = Image(self.absolute(event.image.src), event.image.alt)
        _ = self.words.gettext
        status = {Status.CANCELLED: _("Cancelled"),
                  Status.TENTATIVE: _("Tentative")}.get(event.status)
        return EventCard(
            title=event.title, url=event.url,
            when=format_when(event, occurrence or Occurrence(event.start, event.exclusive_end),
                             self.words),
            where=_where(event), status=status, repeats=_repeats(event, self.words),
            picture=picture, summary=event.summary,
            description=self.prose(event.description, event.source, "description"),
            highlights=tuple(highlights), links=event.links, hosts=self.words.join(event.hosts),
            calendar=event_links(event, self.settings) if occurrence else None)

    def absolute(self, src: str) -> str:
        return src if urlsplit(src).scheme else self.settings.absolute_url(src)


def allowed_url(url: str) -> bool:
    """True for an absolute URL of an allowed scheme, a fragment, or the placeholder."""
    if (url.startswith("#") and len(url) > 1) or url == UNSUBSCRIBE_PLACEHOLDER:
        return True
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return False
    return bool(parts.netloc) if parts.scheme.lower() in ("http", "https", "webcal") else True


def format_day(day: dt.date, words: Localizer | None = None) -> str:
    """A date in full in `words`' language (default: the site default, English)."""
    return (words or first_localizer()).day(day)


def format_days(first: dt.date, last: dt.date, words: Localizer | None = None) -> str:
    """A range of days as CLDR writes it in `words`' language (default: English)."""
    return (words or first_localizer()).days(first, last)


def format_when(event: Event, occurrence: Occurrence, words: Localizer | None = None) -> str:
    """The occurrence's days, or weekday, day and wall-clock times in the event's zone."""
    words = words or first_localizer()
    if event.all_day:  # an occurrence's end is exclusive: the day after the last day
        return words.days(occurrence.start, occurrence.end - dt.timedelta(days=1))
    start, end = occurrence.start, occurrence.end
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    if end.date() == start.date():
        span = words.gettext("%(day)s, %(times)s") % {
            "day": words.weekday_day(start.date()), "times": words.times(start, end)}
    else:
        span = words.gettext("%(start)s to %(end)s") % {
            "start": words.moment(start), "end": words.moment(end)}
    return f"{span} ({event.timezone})"


def _where(event: Event) -> str:
    if event.location is None:
        return ""
    return event.location.label


def _repeats(event: Event, words: Localizer) -> str | None:
    if event.recurrence is None:
        return None
    _ = words.gettext
    parts = dict(p.split("=", 1) for p in event.recurrence.rule.upper().split(";") if "=" in p)
    interval = int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 1
    frequency = parts.get("FREQ", "")
    if interval == 1:
        return {"DAILY": _("Repeats daily"), "WEEKLY": _("Repeats weekly"),
                "MONTHLY": _("Repeats monthly"), "YEARLY": _("Repeats yearly")}.get(
                    frequency, _("Repeats regularly"))
    # Spelled `words.ngettext(...)` each time so that pybabel extract finds them.
    every = {
        "DAILY": words.ngettext("Repeats every %(num)d day", "Repeats every %(num)d days",
                                interval),
        "WEEKLY": words.ngettext("Repeats every %(num)d week", "Repeats every %(num)d weeks",
                                 interval),
        "MONTHLY": words.ngettext("Repeats every %(num)d month", "Repeats every %(num)d months",
                                  interval),
        "YEARLY": words.ngettext("Repeats every %(num)d year", "Repeats every %(num)d years",
                                 interval)}
    return every.get(frequency, _("Repeats regularly")) % {"num": interval}
