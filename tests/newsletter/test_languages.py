"""Issues in other languages: Korean recap golden, right-to-left markup, 78-column text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from collections.abc import Callable
from contextlib import chdir
from email import policy
from pathlib import Path

import pytest
from conftest import PINNED_NOW, ROOT
from html_scan import scan
from sample_issues import arabic_issue, chinese_issue, stress_issue

from pipeline.build import load_inputs
from pipeline.locales import localizer
from pipeline.model import Event, Issue
from pipeline.newsletter.content import format_day, format_days
from pipeline.newsletter.issues import render_newsletters
from pipeline.newsletter.wrapping import display_width

KO = "newsletter/2024-recap/"


@pytest.fixture(scope="module")
def bundled() -> tuple[tuple[Event, ...], tuple[Issue, ...], object]:
    with chdir(ROOT):
        return load_inputs(Path("events"), Path("newsletters"), Path("pipeline.yaml"))


@pytest.fixture(scope="module")
def korean(bundled) -> dict[str, bytes]:
    """The bundled recap with `lang: ko`: the same events, Korean dates and labels."""
    events, issues, settings = bundled
    with chdir(ROOT):
        return render_newsletters(events, tuple(dataclasses.replace(i, lang="ko") for i in issues),
                                  settings, PINNED_NOW)


@pytest.fixture(scope="module")
def every_issue(bundled, korean) -> dict[str, dict[str, bytes]]:
    """Every issue's files: bundled English and Korean, stress, Arabic and Chinese."""
    events, issues, settings = bundled
    out = {}
    with chdir(ROOT):
        out["en"] = render_newsletters(events, issues, settings, PINNED_NOW)
        out["ko"] = korean
        for name, make in (("stress", stress_issue), ("ar", arabic_issue), ("zh", chinese_issue)):
            sample_events, issue = make()
            out[name] = render_newsletters(sample_events, (issue,), settings, PINNED_NOW)
    return out


def email_parts(eml: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(eml, policy=policy.default)
    text, html = message.iter_parts()  # type: ignore[attr-defined]
    return text.get_content(), html.get_content()


@pytest.mark.parametrize("name", ["index.html", "index.txt"])
def test_korean_recap_matches_golden_files(korean, golden: Callable, name: str) -> None:
    golden(f"newsletter/2024-recap-ko/{name}", korean[KO + name])


def test_korean_recap_has_korean_dates_and_labels_and_the_same_events(bundled, korean) -> None:
    text = korean[KO + "index.txt"].decode()
    assert text.startswith("PyTorch Community · 2025년 1월 6일\n")
    assert "지난 행사 (2024년 1월 1일~12월 31일)" in text
    assert "다가오는 행사" in text and "캘린더에 추가:" in text
    assert "PyTorch CoreSIG\n2025년 1월 8일 수요일 14:00 ~ 15:30 (Asia/Seoul) · Online · 매주 반복" in text
    assert "\nWHAT HAPPENED" not in text and "Looking ahead" not in text
    english = scan(render_english(bundled))
    html = scan(korean[KO + "index.html"])
    assert html.hrefs == english.hrefs  # every event and link, in the same order
    assert '<html lang="ko" dir="ltr"' in korean[KO + "index.html"].decode()


def render_english(bundled) -> bytes:
    with chdir(ROOT):
        return render_newsletters(*bundled, PINNED_NOW)[KO + "index.html"]


def test_arabic_issue_is_marked_right_to_left_everywhere(every_issue) -> None:
    files = every_issue["ar"]
    _, email_html = email_parts(files["newsletter/arabic/message.eml"])
    for html in (files["newsletter/arabic/index.html"].decode(), email_html):
        assert html.startswith('<!doctype html><html lang="ar" dir="rtl"')
        wrapper = re.search(r'<div [^>]*role="article"[^>]*>', html)  # the body wrapper
        assert wrapper and 'lang="ar" dir="rtl"' in wrapper.group()
        # MJML writes a direction on every cell: it must follow the language, never ltr.
        assert "direction:ltr" not in html and "direction:rtl" in html
        # Text cells align right; MJML's column boxes (font-size 0, no text) keep their left.
        body = html.split("</head>", 1)[1]
        assert "text-align:right" in body
        assert re.findall(r'[\w-]+:[^;"]*;text-align:left', body) == \
            ["font-size:0px;text-align:left"] * body.count("text-align:left")


def test_plain_text_has_no_prose_line_over_78_columns(every_issue) -> None:
    checked = 0
    for files in every_issue.values():
        texts = [body.decode() for path, body in files.items() if path.endswith("index.txt")]
        texts += [email_parts(body)[0] for path, body in files.items() if path.endswith(".eml")]
        for text in texts:
            for line in text.splitlines():
                checked += 1
                if display_width(line) <= 78:
                    continue
                # Only a URL alone on its line (after an indent or list marker) may be longer.
                alone = re.sub(r"^\s*(?:[-*>] |\d+\. )?", "", line)
                assert re.fullmatch(r"<?(https?|webcal)://\S+", alone), line
    assert checked > 1000


def test_signature_separator_and_underlines(every_issue) -> None:
    ko = every_issue["ko"][KO + "index.txt"].decode()
    assert "\n-- \n" in ko  # RFC 3676: dash, dash, space
    zh = every_issue["zh"]["newsletter/chinese/index.txt"].decode().splitlines()
    underline = next(i for i, line in enumerate(zh) if line and set(line) == {"="})
    title_lines = zh[2:underline]
    assert len(zh[underline]) == max(display_width(line) for line in title_lines)


def test_public_text_has_no_placeholder_but_the_eml_has(every_issue) -> None:
    for files in every_issue.values():
        for path, body in files.items():
            if path.endswith("index.txt"):
                assert b"{{" not in body, path
            if path.endswith(".eml"):
                assert "Unsubscribe" in email_parts(body)[0] or "구독 취소" in email_parts(body)[0]


def test_date_helpers_default_to_english_and_take_a_language() -> None:
    day = dt.date(2025, 1, 6)
    assert format_day(day) == "January 6, 2025"
    assert format_day(day, localizer("ko")) == "2025년 1월 6일"
    assert format_days(day, dt.date(2025, 1, 8), localizer("fr")) == "6\u20138 janv. 2025"
