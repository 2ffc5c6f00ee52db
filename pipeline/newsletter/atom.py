"""newsletter/feed.xml: the issues as an Atom feed (RFC 4287), serialised by ElementTree."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from email.utils import parseaddr

from pipeline.locales import localizer
from pipeline.model import Issue
from pipeline.sources.settings import Settings

ATOM = "http://www.w3.org/2005/Atom"
FEED_PATH = "newsletter/feed.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# With no issue there is no date to take `updated` from, and the clock is not an input.
NO_ISSUE_UPDATED = dt.date(1970, 1, 1)


def atom_id(settings: Settings, issue: Issue | None = None) -> str:
    """A tag: URI (RFC 4151) on the UID domain, which never changes, unlike the base URL."""
    if issue is None:
        return f"tag:{settings.uid_host},2000:newsletter"
    return f"tag:{settings.uid_host},{issue.date.isoformat()}:newsletter/{issue.id}"


def _timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def render_feed(issues: tuple[Issue, ...], settings: Settings) -> bytes:
    """Every issue, newest first; `updated` is the newest issue's date, never the clock."""
    ET.register_namespace("", ATOM)
    ordered = sorted(issues, key=lambda i: (i.date, i.id), reverse=True)
    words = localizer(settings.locale)
    # xml:lang: feed readers pick fonts, hyphenation and direction from it (RFC 4287 2).
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: words.tag})
    q = f"{{{ATOM}}}"
    _add(feed, q + "id", atom_id(settings))
    _add(feed, q + "title", words.gettext("%(site)s newsletter") % {"site": settings.site_name})
    _add(feed, q + "updated", _timestamp(ordered[0].date if ordered else NO_ISSUE_UPDATED))
    _add(feed, q + "link", rel="self", type="application/atom+xml",
         href=settings.absolute_url(FEED_PATH))
    _add(feed, q + "link", rel="alternate", type="text/html",
         href=settings.absolute_url("newsletter/"))
    author = _add(feed, q + "author")
    name, address = parseaddr(settings.sender)
    _add(author, q + "name", name or settings.site_name)
    if address:
        _add(author, q + "email", address)
    for issue in ordered:
        entry = _add(feed, q + "entry", **({XML_LANG: issue.lang} if issue.lang else {}))
        _add(entry, q + "id", atom_id(settings, issue))
        _add(entry, q + "title", issue.title)
        _add(entry, q + "updated", _timestamp(issue.date))
        _add(entry, q + "published", _timestamp(issue.date))
        _add(entry, q + "link", rel="alternate", type="text/html",
             href=settings.absolute_url(f"newsletter/{issue.id}/"))
        _add(entry, q + "summary", issue.preheader or issue.email_subject)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
