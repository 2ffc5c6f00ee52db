"""The newsletter stage: every issue as web page, text, .eml and sidecar; the archive and feed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import replace

import jinja2

from pipeline.locales import localizer
from pipeline.model import Event, Issue
from pipeline.newsletter import templates
from pipeline.newsletter.atom import FEED_PATH, render_feed
from pipeline.newsletter.content import (
    UNSUBSCRIBE_PLACEHOLDER,
    IssueContent,
    brand_content,
    issue_content,
    issue_url,
)
from pipeline.newsletter.message import build_message, message_id
from pipeline.newsletter.preflight import check_html
from pipeline.parallel import fork_map
from pipeline.sources.settings import Settings

Artifacts = dict[str, bytes]
SIDECAR_VERSION = 1
# Issues to render before starting workers pays: an issue takes 0.1 to 0.2 s (MJML, the
# text version, the .eml), starting two workers and sending the files back about 0.05 s.
PARALLEL_FROM = 3


def render_newsletters(events: tuple[Event, ...], issues: tuple[Issue, ...],
                       settings: Settings, now: dt.datetime) -> Artifacts:
    """Every issue's files plus newsletter/index.html and newsletter/feed.xml.

    With no issue at all nothing is rendered, so a folder holding only events/ (and no
    templates/email/) still builds.
    """
    return render_newsletter_files(issues, settings, lambda issue: events)


def render_newsletter_files(issues: tuple[Issue, ...], settings: Settings,
                            events_of: Callable[[Issue], tuple[Event, ...]],
                            kept: Collection[str] = ()) -> Artifacts:
    """render_newsletters' files, but those of the issues whose id is in `kept`.

    `events_of(issue)` gives the events the issue may show: all of them, or at least every
    one selection.issue_members names (what the build cache passes, decoding no other).
    """
    if not issues:
        return {}
    env = theme(settings)
    artifacts: Artifacts = {}
    rendered = fork_map(lambda issue: _issue_files(env, events_of(issue), issue, settings),
                        [issue for issue in issues if issue.id not in kept], PARALLEL_FROM)
    for files in rendered:
        artifacts.update(files)
    artifacts["newsletter/index.html"] = render_archive(env, issues, settings)
    artifacts[FEED_PATH] = render_feed(issues, settings)
    return artifacts


def render_issue_files(events: tuple[Event, ...], issue: Issue, settings: Settings,
                       now: dt.datetime) -> Artifacts:
    """One issue's newsletter/<id>/{index.html,index.txt,message.eml,message.json}.

    `now` is unused: an issue is a function of its own date, never of the clock.
    """
    return _issue_files(theme(settings), events, issue, settings)


def theme(settings: Settings) -> jinja2.Environment:
    """The site's templates over the packaged theme, with the site's branding as `brand`."""
    return templates.environment(settings.site, {"brand": brand_content(settings)})


def _compile(env: jinja2.Environment, content: IssueContent, issue: Issue) -> str:
    """The issue compiled by MJML: the e-mail's HTML part, or the web page."""
    what = f"issue '{issue.id}'"
    mjml_source = templates.render(env, templates.ISSUE_MJML, what, issue=content)
    return templates.compile_mjml(mjml_source, issue.source or what, lambda error: (
        templates.mjml_origin(env, templates.ISSUE_MJML, {"issue": content}, mjml_source, error)))


def _issue_files(env: jinja2.Environment, events: tuple[Event, ...], issue: Issue,
                 settings: Settings) -> Artifacts:
    source = issue.source or f"issue '{issue.id}'"
    content = issue_content(events, issue, settings, for_email=True)
    localizer(content.lang).install(env)
    email_html = _compile(env, content, issue)
    web_html = _compile(env, replace(content, for_email=False), issue)
    check_html(email_html, "the e-mail's HTML", source)
    check_html(web_html, "the web page", source)
    text = templates.render(env, templates.ISSUE_TEXT, f"issue '{issue.id}'", issue=content)
    # The public index.txt has no unsubscribe line: its placeholder is filled only in the .eml.
    web_text = templates.render(env, templates.ISSUE_TEXT, f"issue '{issue.id}'",
                                issue=replace(content, for_email=False))
    eml = build_message(issue, settings, email_html, text)
    folder = f"newsletter/{issue.id}/"
    return {
        folder + "index.html": web_html.encode("utf-8"),
        folder + "index.txt": web_text.encode("utf-8"),
        folder + "message.eml": eml,
        folder + "message.json": sidecar(issue, settings, eml),
    }


def sidecar(issue: Issue, settings: Settings, eml: bytes) -> bytes:
    """message.json: what the send step needs besides the .eml (keys in docs/newsletter.md)."""
    folder = f"newsletter/{issue.id}/"
    data = {
        "version": SIDECAR_VERSION,
        "issue_id": issue.id,
        "subject": issue.email_subject,
        "preheader": issue.preheader or issue.title,
        "from": settings.sender,
        "date": issue.date.isoformat(),
        "message_id": message_id(issue, settings),
        "list_id": settings.list_identifier,
        "paths": {"eml": folder + "message.eml", "html": folder + "index.html",
                  "text": folder + "index.txt"},
        "eml_sha256": hashlib.sha256(eml).hexdigest(),
        "archive_url": issue_url(issue, settings),
        "placeholders": {"unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER},
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render_archive(env: jinja2.Environment, issues: tuple[Issue, ...],
                   settings: Settings) -> bytes:
    """newsletter/index.html: every issue, newest first."""
    words = localizer(settings.locale)
    words.install(env)
    listed = [{"title": i.title, "url": issue_url(i, settings), "date": words.day(i.date),
               "preheader": i.preheader or ""}
              for i in sorted(issues, key=lambda i: (i.date, i.id), reverse=True)]
    html = templates.render(env, templates.ARCHIVE_HTML, "the newsletter archive",
                            site_name=settings.site_name, issues=listed, lang=words.tag,
                            dir=words.direction,
                            feed_url=settings.absolute_url(FEED_PATH))
    return html.encode("utf-8")
