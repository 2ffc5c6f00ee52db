"""Deterministic synthetic inputs for the benchmark: N event files, settings and two issues."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import textwrap
from pathlib import Path

# Zones with and without daylight saving time, including half-hour offsets.
ZONES = ("America/Los_Angeles", "America/New_York", "Europe/Paris", "Europe/London",
         "Asia/Seoul", "Asia/Kolkata", "Asia/Shanghai", "Australia/Sydney",
         "America/Sao_Paulo", "America/St_Johns", "Pacific/Auckland", "Africa/Lagos", "UTC")
KINDS = ("meetup", "meetup", "meetup", "webinar", "webinar", "conference", "hackathon",
         "docathon", "social", "meeting")
CITIES = (("Seoul", "South Korea"), ("São Paulo", "Brazil"), ("Zürich", "Switzerland"),
          ("東京", "日本"), ("Paris", "France"), ("Bengaluru", "India"), ("Kraków", "Poland"),
          ("San Francisco", "USA"), ("Lagos", "Nigeria"), ("Montréal", "Canada"),
          ("上海", "中国"), ("Auckland", "New Zealand"))
TOPICS = ("torch.compile", "ExecuTorch", "distributed training", "quantization",
          "FlexAttention", "TorchServe", "딥러닝 컴파일러", "모델 경량화", "推論の高速化",
          "l'inférence sur mobile", "visão computacional", "Triton kernels")
TAGS = ("korea", "online", "gpu", "edge", "docs", "compiler", "llm", "in-person", "europe",
        "asia", "americas", "beginners")
HOSTS = ("PyTorch Foundation", "PyTorch Korea User Group", "Hugging Face", "GPU MODE",
         "Rebellions", "Arm", "Université de Montréal", "東京大学", "Scaleway")
WORDS = ("model", "kernel", "tensor", "graph", "compiler", "export", "training", "serving",
         "memory", "profiling", "community", "contributors", "benchmark", "accelerator",
         "données", "모델", "学習", "cluster", "latency", "throughput", "notebook", "demo")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PICK_TAG = "newsletter-pick"  # a fixed handful of events per issue, whatever N is
FIRST_DAY = dt.date(2024, 1, 1)
SPAN_DAYS = 4 * 365  # 2024 to 2027; the benchmark's "now" (2026-01-01) is in the middle
BENCH_NOW = "2026-01-01T00:00:00Z"
REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

SETTINGS = """\
site_name: Synthetic Community
base_url: https://events.example.org/
uid_domain: events.example.org
calendar_name: Synthetic Community Events
refresh_interval: 12h
sender: Synthetic Community <news@example.org>
feeds:
  - id: conferences
    name: Conferences
    kinds: [conference]
  - id: hackathons
    name: Hackathons and docathons
    kinds: [hackathon, docathon]
  - id: korea
    name: Korea
    description: 한국 PyTorch 사용자 모임의 행사
    tags: [korea]
  - id: online
    name: Online events
    tags: [online]
  - id: gpu-meetups
    name: GPU meetups
    kinds: [meetup]
    tags: [gpu]
"""

ISSUES = {
    "2025-q1": ("2025 Q1 in the community — trimestre 1", "2025-04-02", "2025-01-01",
                "2025-03-31"),
    "2025-q2": ("2025 Q2: 커뮤니티 소식", "2025-07-01", "2025-04-01", "2025-06-30"),
}


def scalar(value: str) -> str:
    """A YAML scalar: plain when unambiguous, else double-quoted (JSON is valid YAML)."""
    if re.fullmatch(r"[A-Za-z\u00c0-\uffff][\w .,()'&+/-]*", value) and value.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null", "y", "n"):
        return value
    return json.dumps(value, ensure_ascii=False)


def block(key: str, text: str, style: str, indent: str = "") -> str:
    """`key: >-` or `key: |` followed by the text wrapped and indented."""
    lines = []
    for paragraph in text.split("\n\n"):
        lines += [*textwrap.wrap(paragraph, 76), ""]
    body = "\n".join(f"{indent}  {line}" if line else "" for line in lines[:-1])
    return f"{indent}{key}: {style}\n{body}\n"


def sentence(rng: random.Random, words: int) -> str:
    """A sentence of `words` words with a topic in it."""
    chosen = [rng.choice(WORDS) for _ in range(words)]
    chosen.insert(rng.randrange(len(chosen)), rng.choice(TOPICS))
    text = " ".join(chosen)
    return text[0].upper() + text[1:] + "."


def _when(rng: random.Random, index: int) -> tuple[list[str], dt.date, dt.datetime | None, str | None]:
    """The timing lines of one event, its first day, its naive start (timed) and its zone."""
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(SPAN_DAYS))
    if index % 10 == 3:  # ~10% all-day, one to three days, some with a zone
        last = day + dt.timedelta(days=rng.choice((0, 0, 1, 2)))
        lines = [f"start: {day}"] + ([f"end: {last}"] if last != day else [])
        zone = rng.choice(ZONES) if rng.random() < 0.5 else None
        return lines + ([f"timezone: {zone}"] if zone else []), day, None, zone
    zone = rng.choice(ZONES)
    # 08:00-20:45 never falls in a DST gap or overlap in these zones (they switch at night).
    start = dt.datetime.combine(day, dt.time(rng.randrange(8, 21), rng.choice((0, 15, 30, 45))))
    lines = [f"start: {start:%Y-%m-%d %H:%M}", f"timezone: {zone}"]
    if rng.random() < 0.5:
        lines.insert(1, f"duration: {rng.choice(('90m', '2h', '1h30m', '45m', '3h'))}")
    else:
        end = start + dt.timedelta(minutes=rng.choice((60, 120, 180, 480)))
        end = min(end, dt.datetime.combine(day, dt.time(23, 30)))
        lines.insert(1, f"end: {end:%Y-%m-%d %H:%M}")
    return lines, day, start, zone


def _recurrence(rng: random.Random, day: dt.date, start: dt.datetime | None,
                moved: bool = False) -> str:
    """A recurrence block whose first occurrence is the event's start; `moved`: its third
    occurrence an hour later (a `changes:` item), for timed series."""
    weekday = WEEKDAYS[day.weekday()]
    if start is None:  # all-day: monthly on that day of the month
        count = rng.randrange(3, 13)
        return (f"recurrence:\n  rule: FREQ=MONTHLY;BYMONTHDAY={day.day};COUNT={count}\n"
                if day.day <= 28 else f"recurrence:\n  rule: FREQ=YEARLY;COUNT={count}\n")
    choice = rng.random()
    if choice < 0.4:
        rule = f"FREQ=WEEKLY;BYDAY={weekday};COUNT={rng.randrange(4, 30)}"
    elif choice < 0.8:
        until = day + dt.timedelta(days=rng.randrange(30, 400))
        rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday};UNTIL={until:%Y%m%d}T235959Z"
    else:
        rule = f"FREQ=WEEKLY;BYDAY={weekday}"  # unbounded: never leaves the upcoming feed
    text = f'recurrence:\n  rule: "{rule}"\n'
    if rng.random() < 0.5:  # skip the second occurrence (a holiday)
        step = 14 if "INTERVAL=2" in rule else 7
        text += f"  except:\n    - {day + dt.timedelta(days=step)}\n"
    if moved:  # every rule above has a third occurrence (COUNT >= 4, UNTIL >= 30 days on)
        third = start + dt.timedelta(days=2 * (14 if "INTERVAL=2" in rule else 7))
        text += (f"  changes:\n    - occurrence: {third:%Y-%m-%d}\n"
                 f"      start: \"{third + dt.timedelta(hours=1):%Y-%m-%d %H:%M}\"\n")
    return text


def event_yaml(index: int, count: int, seed: int) -> tuple[str, str]:
    """The relative path and YAML text of event number `index` of `count`."""
    rng = random.Random(seed * 1_000_003 + index)
    kind = KINDS[rng.randrange(len(KINDS))]
    city, country = rng.choice(CITIES)
    topic = rng.choice(TOPICS)
    timing, day, start, _ = _when(rng, index)
    title = rng.choice((f"PyTorch {kind.title()} {city} #{index}",
                        f"{topic} deep dive — {city}",
                        f"Atelier {topic} à {city} ({index})",
                        f"{city} {kind} 🚀 {topic}"))
    event_id = f"{kind}-{index:06d}"
    out = [f"title: {scalar(title)}", f"kind: {kind}", *timing]
    if rng.random() < 0.1:
        out.append(f"status: {rng.choice(('tentative', 'cancelled'))}")
    text = "\n".join(out) + "\n"
    if index % 10 == 7:  # ~10% recurring; half of them with a date moved (not drawn from rng,
        # so that every other event stays as it was generated before changes were added)
        text += _recurrence(rng, day, start, moved=index % 20 == 17)
    online = rng.random() < 0.25
    if online:
        text += f"location:\n  name: Online\n  online: true\n  url: https://meet.example.org/{event_id}\n"
    elif rng.random() < 0.2:
        text += f"location: {scalar(f'{city}, {country}')}\n"
    else:
        text += (f"location:\n  name: {scalar(rng.choice(HOSTS) + ' HQ')}\n  address: "
                 f"{scalar(f'{rng.randrange(1, 999)} Example Street')}\n  city: {scalar(city)}\n"
                 f"  country: {scalar(country)}\n")
    text += f"url: https://events.example.org/e/{event_id}\n"
    text += block("summary", " ".join(sentence(rng, 8) for _ in range(2)), ">-")
    text += block("description", sentence(rng, 10) + " **" + topic + "** " + sentence(rng, 6)
                  + "\n\n" + sentence(rng, 8), "|")
    if rng.random() < 0.3:
        text += "highlights:\n" + "".join(f"  - {scalar(sentence(rng, 7))}\n"
                                          for _ in range(rng.randrange(1, 4)))
    if rng.random() < 0.4:
        text += "links:\n" + "".join(
            f"  - title: {scalar(sentence(rng, 3))}\n    url: https://video.example.org/{event_id}/{n}\n"
            for n in range(rng.randrange(1, 3)))
    if rng.random() < 0.2:
        text += (f"image:\n  src: assets/images/{event_id}.jpg\n  alt: "
                 f"{scalar(f'People at the {city} {kind}, gathered around a screen')}\n")
    text += "hosts:\n" + "".join(f"  - {scalar(h)}\n" for h in rng.sample(HOSTS, rng.randrange(1, 4)))
    tags = rng.sample(TAGS, rng.randrange(1, 4)) + (["online"] if online else [])
    if index % max(1, count // 24) == 0:
        tags.append(PICK_TAG)
    text += "tags:\n" + "".join(f"  - {t}\n" for t in dict.fromkeys(tags))
    return f"events/{day.year}/{day:%m}/{event_id}.yaml", text


def issue_yaml(issue_id: str) -> str:
    """A newsletter issue selecting the handful of picked events of one quarter."""
    title, date, start, end = ISSUES[issue_id]
    return (f"title: {scalar(title)}\ndate: {date}\nperiod:\n  from: {start}\n  to: {end}\n"
            f"select:\n  tags: [{PICK_TAG}]\nlooking_ahead: 5\n"
            "intro: |\n  What happened this quarter — ce qui s'est passé, 이번 분기 소식.\n"
            "sections:\n  - title: Get involved\n    body: Join a **meetup** near you.\n"
            "    links:\n      - title: All events\n        url: https://events.example.org/\n")


def generate(root: Path, count: int, seed: int = 2026, templates: Path | None = REPO_TEMPLATES,
             ) -> Path:
    """Write `count` events, `pipeline.yaml`, two issues and the e-mail templates under `root`."""
    if templates is not None and templates.is_dir():  # the build reads ./templates/email/
        shutil.copytree(templates, root / "templates", dirs_exist_ok=True)
    for index in range(count):
        relative, text = event_yaml(index, count, seed)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "newsletters").mkdir(parents=True, exist_ok=True)
    for issue_id in ISSUES:
        (root / "newsletters" / f"{issue_id}.yaml").write_text(issue_yaml(issue_id), encoding="utf-8")
    (root / "pipeline.yaml").write_text(SETTINGS, encoding="utf-8")
    return root


def main() -> None:
    """`python benchmarks/synthetic.py DIR --count N`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    generate(args.root, args.count, args.seed)


if __name__ == "__main__":
    main()
