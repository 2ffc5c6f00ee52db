"""Fuzzed event and issue files: the build exits 0 or 1, never a traceback, and every .eml it
publishes carries exactly the expected headers."""

from __future__ import annotations

import datetime as dt
import tempfile
from email import policy
from email.parser import BytesParser
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.newsletter.message import EML_HEADERS

# What an attacker or an unlucky paste puts into text that ends up in headers, feeds, HTML.
HOSTILE = [
    "June =?utf-8?q?=0D=0AReply-To:_x@attacker.example=0D=0ABcc:_y@attacker.example?=",
    "=?UTF-8?B?DQpCY2M6IHlAYXR0YWNrZXIuZXhhbXBsZQ==?=", "x\r\nBcc: y@attacker.example",
    "a\nBEGIN:VEVENT\nSUMMARY:injected", "\x00", "\x7f", "\x85", "\x9b", "\u2028", "\u2029",
    "\x0b", "\x1b[31m", "<script>alert(1)</script>", "{{UNSUBSCRIBE_URL}}", "{% raw %}",
    "]]>", "\\n", "\\", '"', "'", ":", "#", "&amp;", "\u202e", "\ufeff", "é", "한국어", "ك",
    "x" * 300, " ", "",
]
URLS = ["https://example.org/", "javascript:alert(1)", "https://ex.org/a\r\nBcc: y@z.org",
        "https://ex.org/=?utf-8?q?=0D=0A?=", "http://", "//ex.org/", "mailto:a@b.org",
        "https://ex.org/\u2028", "https://ex.org/<x>", "https://ex.org/?q=\"x\""]

piece = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20))
hostile_text = st.lists(piece, min_size=1, max_size=4).map("".join)
hostile_url = st.one_of(st.sampled_from(URLS), hostile_text.map(lambda t: "https://ex.org/" + t))
# Text a build must take: any letters, digits, punctuation and symbols, markup included.
word = st.one_of(st.sampled_from(["<b>", "&amp;", '"x"', "é", "한국어", "ك", "{{x}}", "Q&A", "C#"]),
                 st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=12))
benign_text = st.lists(word, min_size=1, max_size=5).map(" ".join)
benign_url = st.sampled_from(["https://example.org/", "https://ex.org/a?b=c&d=e#f",
                              "http://ex.org/%E2%82%AC", "https://한국.example/경로"])
FIELDS = ("title", "url", "summary", "description", "place", "place_url", "issue_title",
          "subject", "preheader", "intro", "section", "body", "link", "link_url", "site_name",
          "sender")


def scalar(value: str, raw: bool) -> str:
    """`value` as a double-quoted YAML scalar: every character escaped but printable ASCII
    (the value reaches the build intact), or raw as a careless editor writes it."""
    def char(c: str) -> str:
        if c in '"\\':
            return "\\" + c
        return c if raw or " " <= c <= "~" else f"\\U{ord(c):08x}"

    return '"' + "".join(map(char, value)) + '"'


@st.composite
def site(draw) -> dict[str, str]:
    """The files of a one-event, one-issue site; up to two fields hostile, the rest any text."""
    raw = draw(st.booleans())
    hostile = draw(st.sets(st.sampled_from(FIELDS), max_size=2))

    def q(field: str) -> str:
        url = field == "url" or field.endswith("_url")
        kind = (hostile_url if url else hostile_text) if field in hostile else \
            (benign_url if url else benign_text)
        return scalar(draw(kind), raw)

    event = (f"title: {q('title')}\nkind: meetup\nstart: 2025-06-12\n"
             f"timezone: Europe/Paris\nurl: {q('url')}\nsummary: {q('summary')}\n"
             f"description: {q('description')}\n"
             f"location: {{name: {q('place')}, city: Paris, url: {q('place_url')}}}\n")
    subject = f"subject: {q('subject')}\n" if draw(st.booleans()) else ""
    issue = (f"title: {q('issue_title')}\n{subject}preheader: {q('preheader')}\n"
             "date: 2025-06-30\nperiod: {from: 2025-06-01, to: 2025-06-30}\n"
             f"intro: {q('intro')}\nsections:\n  - title: {q('section')}\n"
             f"    body: {q('body')}\n"
             f"    links: [{{title: {q('link')}, url: {q('link_url')}}}]\n")
    name = draw(st.text(st.characters(categories=("L",)), min_size=1, max_size=12))
    sender = f"sender: {scalar(name + ' <news@example.org>', raw)}\n" \
        if "sender" not in hostile else f"sender: {q('sender')}\n"
    config = f"site_name: {q('site_name')}\nbase_url: https://events.example.org/\n{sender}"
    return {"events/e.yaml": event, "newsletters/2025-06.yaml": issue, "pipeline.yaml": config}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=site())
def test_fuzzed_sources_exit_0_or_1_and_every_eml_has_exactly_the_expected_headers(
        files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        result = CliRunner().invoke(cli, [
            "build", "--quiet", "--events", str(root / "events"),
            "--newsletters", str(root / "newsletters"), "--config", str(root / "pipeline.yaml"),
            "--out", str(root / "output"), "--now", "2025-07-01"])
        assert result.exit_code in (0, 1), result.output
        event(f"exit {result.exit_code}")
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            repr(result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 1:
            assert result.output.strip(), "exit 1 says why"
            return
        emls = sorted((root / "output" / "newsletter").glob("*/message.eml"))
        assert emls, "a successful build publishes the issue's .eml"
        strict = policy.SMTP.clone(raise_on_defect=True)
        for eml in emls:
            message = BytesParser(policy=strict).parsebytes(eml.read_bytes())
            assert sorted(message.keys()) == sorted(EML_HEADERS)
            assert message["Date"].datetime == dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
