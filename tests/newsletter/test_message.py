"""The .eml: parses as multipart/alternative text + HTML with every header the send step needs."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

from pipeline.model import Issue
from pipeline.newsletter.content import UNSUBSCRIBE_PLACEHOLDER
from pipeline.newsletter.message import build_message, message_id
from pipeline.sources.settings import Settings

ISSUE = Issue(id="2025-03", title="March news", subject="News for March — été ✓",
              date=dt.date(2025, 3, 31), period_start=dt.date(2025, 3, 1),
              period_end=dt.date(2025, 3, 31))
HTML = ("<!doctype html><html><body><p>Olá, " + "very long line " * 200 +
        f'<a href="{UNSUBSCRIBE_PLACEHOLDER}">Unsubscribe</a></p></body></html>')
TEXT = f"Olá — plain text\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n"


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def test_message_is_text_and_html_alternatives(settings: Settings) -> None:
    message = parse(build_message(ISSUE, settings, HTML, TEXT))
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML + "\n"  # the package ends it


def test_message_has_every_required_header(settings: Settings) -> None:
    message = parse(build_message(ISSUE, settings, HTML, TEXT))
    assert message["Subject"] == "News for March — été ✓"
    assert message["From"] == "News <news@example.org>"
    assert message["Date"].datetime == dt.datetime(2025, 3, 31, tzinfo=dt.UTC)
    assert message["Message-ID"] == "<newsletter.2025-03@events.example.org>"
    assert message["MIME-Version"] == "1.0"
    assert message["List-Id"] == "Test Community newsletter <newsletter.events.example.org>"
    assert message["List-Unsubscribe"] == "<{{UNSUBSCRIBE_URL}}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_lines_fit_smtp_limits(settings: Settings) -> None:
    data = build_message(ISSUE, settings, HTML, TEXT)
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 76  # RFC 2045's quoted-printable limit
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF everywhere, no bare LF
    data.decode("ascii")  # 7-bit clean: any MTA relays it unchanged


def test_placeholder_survives_decoding_in_both_parts(settings: Settings) -> None:
    # The send step fills it after decoding each part (quoted-printable may fold it).
    text, html = parse(build_message(ISSUE, settings, HTML, TEXT)).iter_parts()
    assert UNSUBSCRIBE_PLACEHOLDER in text.get_content()
    assert f'href="{UNSUBSCRIBE_PLACEHOLDER}"' in html.get_content()


def test_message_is_deterministic(settings: Settings) -> None:
    first = build_message(ISSUE, settings, HTML, TEXT)
    assert first == build_message(ISSUE, settings, HTML, TEXT)
    # The boundary comes from the content: other content, other boundary.
    other = build_message(ISSUE, settings, HTML + " ", TEXT)
    assert parse(first).get_boundary() != parse(other).get_boundary()


def test_message_id_uses_issue_id_and_uid_domain() -> None:
    assert message_id(ISSUE, Settings(uid_domain="pytorch.org")) == \
        "<newsletter.2025-03@pytorch.org>"
    assert message_id(ISSUE, Settings(base_url="https://news.example.net/x/")) == \
        "<newsletter.2025-03@news.example.net>"


def test_list_id_description_with_specials_is_quoted() -> None:
    settings = Settings(site_name='Evil <x@y>, "Inc."', list_id="newsletter.example.org")
    message = parse(build_message(ISSUE, settings, HTML, TEXT))
    assert message["List-Id"].endswith("<newsletter.example.org>")
    assert message["List-Id"].count("<") == 2  # the one inside the quoted phrase stays inside
    assert message["List-Id"].startswith('"Evil <x@y>, \\"Inc.\\" newsletter"')
