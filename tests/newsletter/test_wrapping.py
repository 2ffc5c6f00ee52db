"""Plain text wrapped by display width; HTML text given break opportunities, tags untouched."""
# ruff: noqa: RUF001  (CJK punctuation, full-width letters and CLDR en dashes on purpose)

from __future__ import annotations

import re
from html import unescape

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from pipeline.newsletter.markdown import markdown_to_html
from pipeline.newsletter.wrapping import (
    break_opportunities,
    display_width,
    underline,
    wrap,
)

KOREAN = ("파이토치 한국 사용자 모임은 2018년에 한국어를 사용하는 사람들에게 파이토치를 "
          "소개하고 함께 성장하기 위해 만들어졌습니다. 첫 프로젝트는 튜토리얼 번역이었습니다.")
CHINESE = "开发者、研究人员和PyTorch爱好者在上海相聚，了解最新的PyTorch工作，观看社区案例并彼此交流。" * 2


def test_wide_characters_count_two_columns() -> None:
    assert display_width("abc") == 3
    assert display_width("한국") == 4
    assert display_width("ＡＢ") == 4  # full-width letters
    assert display_width("e\u0301") == 1  # a combining accent takes no column


def test_korean_and_chinese_wrap_at_78_columns() -> None:
    for text in (KOREAN, CHINESE):
        lines = wrap(text).splitlines()
        assert len(lines) > 1
        assert all(display_width(line) <= 78 for line in lines), lines
        # Nothing is lost but the spaces where a line broke.
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_closing_punctuation_never_starts_a_line() -> None:
    text = "가" * 77 + "。" + "나" * 10
    assert not any(line.startswith("。") for line in wrap(text, 20).splitlines())


def test_a_long_url_stays_whole_on_its_own_line() -> None:
    url = "https://example.org/" + "a" * 120
    lines = wrap(f"Read it at {url} today.").splitlines()
    assert lines == ["Read it at", url, "today."]


def test_indents_count_and_continue() -> None:
    text = wrap("word " * 30, width=30, indent="  ", first_indent="- ")
    lines = text.splitlines()
    assert lines[0].startswith("- word") and all(line.startswith("  word") for line in lines[1:])
    assert all(display_width(line) <= 30 for line in lines)


def test_underline_follows_display_width() -> None:
    # 13 characters, 18 columns: 5 + 8 (four Hangul) + 1 + 4 (two Hangul).
    assert underline("2024 커뮤니티 소식", "=").splitlines()[1] == "=" * 18


words = st.lists(st.text(st.sampled_from("ab한國 ．。-/"), min_size=1, max_size=30), max_size=12)


@given(words, st.integers(10, 80))
def test_wrapping_keeps_every_character_and_the_width(pieces: list[str], width: int) -> None:
    text = " ".join(pieces).strip()
    wrapped = wrap(text, width)
    assert re.sub(r"\s", "", wrapped) == re.sub(r"\s", "", text)
    for line in wrapped.splitlines():
        # Over the width only when one unbreakable piece is alone on the line.
        assert display_width(line) <= width or " " not in line.strip()


def test_long_words_get_wbr_in_text_only() -> None:
    url = "https://example.org/" + "very-long-path-segment/" * 4
    html = Markup(f'<p><a href="{url}" style="color:#c2410c;">{url}</a> and '
                  f'{"Supercalifragilistic" * 6} &amp; more</p>')
    out = str(break_opportunities(html))
    assert f'href="{url}"' in out  # attributes untouched
    assert "&amp; more" in out
    text = re.sub(r"<(?!wbr>)[^>]*>", "", out)
    assert all(len(run) <= 16 for run in re.split(r"<wbr>|\s", text.replace("&amp;", "&")))


def test_plain_values_are_escaped_before_breaking() -> None:
    out = str(break_opportunities("<script>" + "x" * 40))
    assert "<script>" not in out and out.startswith("&lt;script&gt;")
    assert "<wbr>" in out


@given(st.text(max_size=200))
def test_wbr_only_adds_break_opportunities_to_plain_text(text: str) -> None:
    out = str(break_opportunities(text))
    assert out.replace("<wbr>", "") == str(escape(text))


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120))
def test_wbr_keeps_sanitised_markdown_html_the_same_but_for_breaks(text: str) -> None:
    html = markdown_to_html(text + " [a link](https://example.org/" + "x" * 40 + ")")
    out = str(break_opportunities(Markup(html)))
    assert unescape(out.replace("<wbr>", "")) == unescape(html)
    assert 'href="https://example.org/' + "x" * 40 + '"' in out  # attributes untouched
