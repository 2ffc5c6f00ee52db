"""What one issue says, as plain data both templates (MJML and text) render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup

from pipeline import selection
from pipeline.calendar.links import (
    UPCOMING_PATH,
    EventLinks,
    FeedLinks,
    event_links,
    event_page_url,
    feed_links,
)
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
    url: str  # the event's own page, else its page on this site
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
    changes: tuple[str, ...] = ()  # a series' moved and cancelled dates ("Cancelled: ...")
    moved_from: str | None = None  # a rescheduled event: "Moved from Thursday 1 May 2025"


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
    # A series' card shows its next occurrence that is held; its cancelled dates are listed.
    upcoming = tuple(builder.card(event, event.next_occurrence(as_of, cancelled=False)
                                  or event.next_occurrence(as_of), as_of)
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


@dataclass(frozen=True, slots=True)
class BrandContent:
    """What every template reads as `brand`: the site's branding, ready to render."""

    accent_color: str
    accent_color_dark: str
    logo: Image | None  # src made absolute
    logo_width: int
    footer: Prose | None
    postal_address: tuple[str, ...]  # its lines
    subscribe_url: str  # empty: no subscribe sentence
    social: tuple[Link, ...]


def brand_content(settings: Settings) -> BrandContent:
    """The `brand` of every template; a relative link in the footer raises InvalidInput."""
    problems: list[Problem] = []
    branding = settings.branding
    builder = _Builder(settings, problems, first_localizer(settings.locale))
    footer = builder.prose(branding.footer, settings.source or "pipeline.yaml",
                           "branding.footer")
    if problems:
        raise InvalidInput(problems)
    logo = branding.logo
    return BrandContent(
        accent_color=branding.accent_color, accent_color_dark=branding.accent_color_dark,
        logo=Image(builder.absolute(logo.src), logo.alt) if logo else None,
        logo_width=logo.width if logo else 0, footer=footer,
        postal_address=tuple(line.strip() for line in branding.postal_address.splitlines()
                             if line.strip()),
        subscribe_url=branding.subscribe_url,
        social=tuple(Link(s.title, s.url) for s in branding.social))


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
        return Prose(Markup(markdown_to_html(markdown, self.settings.branding.accent_color)),
                     markdown_to_text(markdown))

    def check_links(self, markdown: str, source: str, key: str) -> None:
        # Checked here, not only in preflight, so that the message names the right file.
        for target in link_targets(markdown):
            if not allowed_url(target):
                self.problems.append(Problem(source, 0, (
                    f"the link '{target}' in '{key}' is not an absolute URL an e-mail can "
                    f"open; write it in full, e.g. {self.settings.absolute_url(target)}")))

    def card(self, event: Event, occurrence: Occurrence | None,
             as_of: dt.datetime | None = None) -> EventCard:
        """A past event's card (no occurrence) or an upcoming one's, showing `occurrence`."""
        highlights = []
        for line in event.highlights:
            self.check_links(line, event.source, "highlights")
            accent = self.settings.branding.accent_color
            highlights.append(Prose(Markup(inline_markdown_to_html(line, accent)),
                                    inline_markdown_to_text(line)))
        picture = None
        if event.image is not None:
            picture = Image(self.absolute(event.image.src), event.image.alt)
        _ = self.words.gettext
        shown = occurrence or next(event.occurrences(),
                                   Occurrence(event.start, event.exclusive_end))
        status = {Status.CANCELLED: _("Cancelled"), Status.TENTATIVE: _("Tentative")}.get(
            Status.CANCELLED if shown.cancelled else event.status)
        change = shown.change
        place = change.location if change and change.location else event.location
        return EventCard(
            title=(change.title if change and change.title else None) or event.title,
            url=event_page_url(event, self.settings),
            when=format_when(event, shown, self.words),
            where=place.label if place else "", status=status,
            repeats=_repeats(event, self.words), picture=picture,
            summary=(change.summary if change and change.summary else None) or event.summary,
            description=self.prose(event.description, event.source, "description"),
            highlights=tuple(highlights), links=event.links, hosts=self.words.join(event.hosts),
            calendar=event_links(event, self.settings, occurrence) if occurrence else None,
            changes=_changes(event, as_of, self.words),
            moved_from=_("Moved from %(date)s") % {
                "date": format_moment(event, event.moved_from, self.words)}
            if event.moved_from is not None else None)

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
    span = (words or first_localizer()).span(occurrence.start, occurrence.end)
    return span if event.all_day else f"{span} ({event.timezone})"


def format_moment(event: Event, value: dt.date, words: Localizer | None = None) -> str:
    """A start alone: `Thursday, May 1, 2025, 18:00 (Europe/Paris)` or `May 1, 2025`."""
    words = words or first_localizer()
    if not isinstance(value, dt.datetime):
        return words.day(value)
    return words.gettext("%(moment)s (%(zone)s)") % {"moment": words.moment(value),
                                                     "zone": event.timezone}


def _changes(event: Event, as_of: dt.datetime | None, words: Localizer) -> tuple[str, ...]:
    """The series' moved and cancelled occurrences (those not over at `as_of`), in order."""
    if event.recurrence is None or not event.recurrence.changes:
        return ()
    _ = words.gettext
    lines = []
    for change in event.recurrence.changes:
        occurrence = event.changed(change)
        if as_of is not None and event.instant(occurrence.end) <= as_of:
            continue
        if change.cancelled:
            lines.append(_("Cancelled: %(when)s") % {"when": format_when(event, occurrence, words)})
        elif change.moved:
            original = change.original_start
            when = format_when(event, occurrence, words)
            if isinstance(original, dt.datetime) and original.date() == occurrence.start.date():
                # The same day, another time: the day alone would read as no move at all.
                lines.append(_("Moved: %(when)s, instead of %(time)s") % {
                    "when": when, "time": words.clock(original)})
            else:
                day = original.date() if isinstance(original, dt.datetime) else original
                lines.append(_("Moved: %(when)s, instead of %(day)s") % {
                    "when": when, "day": words.day(day)})
    return tuple(lines)


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
