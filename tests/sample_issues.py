"""Issues made to break layouts: long words and URLs, Arabic (right to left), Chinese."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pipeline.model import Event, Image, Issue, Link, Location, Section

LONG_WORD = "Supercalifragilistic" * 6  # no break opportunity: the classic sideways scroll
LONG_URL = "https://example.org/" + "very-long-path-segment/" * 8 + "?" + "q=1&" * 20
ARABIC = ("اجتمع مجتمع باي تورش في القاهرة لمناقشة أحدث الأعمال في تعلم الآلة، "
          "وتبادل الخبرات بين المطورين والباحثين من مختلف أنحاء المنطقة")
CHINESE = "开发者、研究人员和PyTorch爱好者在上海相聚，了解最新的PyTorch工作，观看社区案例并彼此交流。" * 2  # noqa: RUF001 (real Chinese punctuation)


def stress_issue() -> tuple[tuple[Event, ...], Issue]:
    """An issue of long words, long URLs and a wide image: what breaks narrow layouts."""
    url = LONG_URL
    day = dt.date(2024, 6, 1)
    wide = Event(id="wide", title=f"A title with {LONG_WORD} in it", kind="meetup", start=day,
                 end=day, summary=f"Summary with {LONG_WORD} and {url}",
                 description=f"Text with a bare URL {url} and [a link]({url}).",
                 image=Image("https://example.org/wide.png", "A very wide test picture"),
                 highlights=(f"Highlight {LONG_WORD}",), links=(Link(url, url),),
                 url=url, source="events/wide.yaml")
    soon = Event(id="soon", title="Soon", kind="meetup", start=dt.date(2025, 2, 1),
                 end=dt.date(2025, 2, 1), source="events/soon.yaml")
    issue = Issue(id="stress", title=f"Stress {LONG_WORD}", date=dt.date(2025, 1, 6),
                  period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31),
                  intro=f"Intro {url}", sections=(Section(LONG_WORD, url, (Link(url, url),)),),
                  source="newsletters/stress.yaml")
    return (wide, soon), issue


def arabic_issue() -> tuple[tuple[Event, ...], Issue]:
    """An issue in Arabic (`lang: ar`): text, title, a timed event, a long URL and a picture."""
    cairo = ZoneInfo("Africa/Cairo")
    past = Event(id="cairo", title="لقاء باي تورش في القاهرة", kind="meetup",
                 start=dt.date(2024, 10, 5), end=dt.date(2024, 10, 5),
                 location=Location(city="القاهرة", country="مصر"), summary=ARABIC,
                 description=f"{ARABIC}.\n\n[التسجيل]({LONG_URL})",
                 image=Image("https://example.org/cairo.png", "صورة الحضور في القاعة"),
                 highlights=(ARABIC,), links=(Link("الشرائح", LONG_URL),),
                 hosts=("باي تورش", "مجتمع القاهرة"), source="events/cairo.yaml")
    soon = Event(id="online", title="جلسة أسبوعية عبر الإنترنت", kind="meeting",
                 start=dt.datetime(2025, 1, 15, 18, 0, tzinfo=cairo),
                 end=dt.datetime(2025, 1, 15, 19, 30, tzinfo=cairo), timezone="Africa/Cairo",
                 location=Location(online=True, url="https://example.org/join"),
                 summary=ARABIC, source="events/online.yaml")
    issue = Issue(id="arabic", title="مجتمع باي تورش في ٢٠٢٤", date=dt.date(2025, 1, 6),
                  period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31),
                  intro=ARABIC, outro=ARABIC,
                  sections=(Section("الندوات", ARABIC, (Link("ندوة", LONG_URL),)),),
                  lang="ar", source="newsletters/arabic.yaml")
    return (past, soon), issue


def chinese_issue() -> tuple[tuple[Event, ...], Issue]:
    """An issue whose prose is Chinese, written without spaces: it must still wrap."""
    day = dt.date(2024, 8, 15)
    event = Event(id="shanghai", title="PyTorch 上海见面会" + "：社区案例分享" * 6,  # noqa: RUF001
                  kind="meetup",
                  start=day, end=day, summary=CHINESE, description=CHINESE,
                  highlights=(CHINESE,), hosts=("PyTorch",), source="events/shanghai.yaml")
    issue = Issue(id="chinese", title="2024 年 PyTorch 社区回顾" + "与展望" * 12,
                  date=dt.date(2025, 1, 6), period_start=dt.date(2024, 1, 1),
                  period_end=dt.date(2024, 12, 31), intro=CHINESE, lang="zh",
                  source="newsletters/chinese.yaml")
    return (event,), issue
