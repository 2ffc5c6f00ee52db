"""The newsletter stage end to end: bundled recap goldens, hostile text, text/HTML parity."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import chdir
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
from conftest import PINNED_NOW, ROOT
from html_scan import scan

import pipeline.newsletter.issues as issues_module
from pipeline.build import load_inputs
from pipeline.errors import InvalidInput, PipelineError
from pipeline.model import Event, Image, Issue, Link, Section, Status
from pipeline.newsletter.issues import render_issue_files, render_newsletters
from pipeline.sources.settings import Settings

RECAP = "newsletter/2024-recap/"
DASH = "\u2013"
HOSTILE = ('<script>alert(1)</script></mj-text></mj-column><mj-raw> < & "q" \'s '
           '<iframe src="https://evil.example/"></iframe><img src=x onerror=alert(1)>')


@pytest.fixture(scope="module")
def bundled() -> tuple[tuple[Event, ...], tuple[Issue, ...], Settings]:
    """The repository's own events, issues and settings."""
    with chdir(ROOT):
        return load_inputs(Path("events"), Path("newsletters"), Path("pipeline.yaml"))


@pytest.fixture(scope="module")
def recap_files(bundled) -> dict[str, bytes]:
    with chdir(ROOT):
        return render_newsletters(*bundled, PINNED_NOW)


def parse_eml(data: bytes) -> tuple[email.message.EmailMessage, str, str]:
    message = email.message_from_bytes(data, policy=policy.default)
    text, html = message.iter_parts()  # type: ignore[attr-defined]
    return message, text.get_content(), html.get_content()  # type: ignore[return-value]


@pytest.mark.parametrize("name", ["index.html", "index.txt", "message.eml", "message.json"])
def test_recap_matches_golden_files(recap_files, golden: Callable, name: str) -> None:
    golden(f"newsletter/2024-recap/{name}", recap_files[RECAP + name])


@pytest.mark.parametrize("name", ["index.html", "feed.xml"])
def test_archive_and_feed_match_golden_files(recap_files, golden: Callable, name: str) -> None:
    golden(f"newsletter/{name}", recap_files["newsletter/" + name])


def test_recap_lists_the_2024_events_oldest_first_and_looks_ahead(recap_files) -> None:
    text = recap_files[RECAP + "index.txt"].decode()
    past = ["PyTorch Seattle Meetup", "PyTorch Docathon 2024", "PyTorch Shanghai Meetup",
            "PyTorch Conference 2024", "GPU MODE IRL Hackathon", "Consumer AI Edge Hackathon",
            "PyTorch Korea User Group Meetup", "Open Source AI Night at NeurIPS 2024"]
    positions = [text.index(f"\n{title}\n") for title in past]
    assert positions == sorted(positions)
    ahead = text[text.index("LOOKING AHEAD"):]
    # CLDR English ranges: an en dash between thin spaces, abbreviated months.
    assert f"PyTorch CoreSIG\nWed, January 8, 2025, 14:00\u2009{DASH}\u200915:30 (Asia/Seoul)" in ahead
    assert f"PyTorch Conference 2025\nOct 22\u2009{DASH}\u200923, 2025 · San Francisco, USA" in ahead
    assert "webcal://pytorch.org/calendar/upcoming.ics" in ahead


def test_rendering_is_deterministic_and_ignores_the_clock(bundled, recap_files) -> None:
    with chdir(ROOT):
        later = render_newsletters(*bundled, PINNED_NOW + dt.timedelta(days=400))
    assert later == recap_files


def test_text_holds_every_event_title_and_every_link_of_the_html(bundled, recap_files) -> None:
    _, text, html = parse_eml(recap_files[RECAP + "message.eml"])
    facts = scan(html)
    for page in (facts, scan(recap_files[RECAP + "index.html"])):
        missing = [href for href in page.hrefs if href not in text]
        assert len(page.hrefs) > 40 and missing == []
    events, _, _ = bundled
    titles = [e.title for e in events if e.title in facts.text]
    assert len(titles) == 10  # 8 past + 2 looking ahead
    assert all(title in text for title in titles)


def test_eml_carries_the_email_html_and_the_text_file(recap_files) -> None:
    message, text, html = parse_eml(recap_files[RECAP + "message.eml"])
    public = recap_files[RECAP + "index.txt"].decode()
    # The e-mail's text is the public text plus the browser link and the unsubscribe line.
    email_text = text.replace("\r\n", "\n")
    assert email_text.startswith("View this issue in your browser:\n"
                                 "https://pytorch.org/newsletter/2024-recap/\n" + public[:60])
    assert email_text.endswith("newsletter.\nUnsubscribe: {{UNSUBSCRIBE_URL}}\n")
    assert "{{" not in public and "Unsubscribe" not in public
    assert message["Subject"] == ("Looking back at 2024: PyTorch community events, "
                                  "and what's next")
    assert message["From"] == "PyTorch Foundation <newsletter@pytorch.org>"
    assert message["Message-ID"] == "<newsletter.2024-recap@pytorch.org>"
    assert message["Date"] == "Mon, 06 Jan 2025 00:00:00 +0000"
    assert message["List-Id"] == "PyTorch Community newsletter <newsletter.pytorch.org>"
    facts = scan(html)
    # The e-mail links to its web page and to the per-recipient unsubscribe placeholder.
    assert facts.hrefs[0] == "https://pytorch.org/newsletter/2024-recap/"
    assert "{{UNSUBSCRIBE_URL}}" in facts.hrefs
    # The preheader, then invisible filler so that inboxes preview nothing after it.
    assert "and a date for 2025." + "\u034f\u200c\xa0" * 60 in facts.text


def test_web_page_has_no_placeholder_and_links_to_the_archive(recap_files) -> None:
    facts = scan(recap_files[RECAP + "index.html"])
    assert not any("{{" in href for href in facts.hrefs)
    assert facts.hrefs[0] == "https://pytorch.org/newsletter/"


def test_html_is_dark_mode_friendly_without_web_fonts(recap_files) -> None:
    for html in (recap_files[RECAP + "index.html"].decode(),
                 parse_eml(recap_files[RECAP + "message.eml"])[2]):
        facts = scan(html)
        assert ("meta", "name", "color-scheme") in facts.attributes
        assert "@media (prefers-color-scheme: dark)" in html
        assert "#000000" not in html and "color:black" not in html.replace(" ", "")
        assert "fonts.googleapis" not in html and "<link" not in html
        assert all(img.get("alt", "").strip() for img in facts.images)
        assert all(img["src"].startswith("https://pytorch.org/assets/") for img in facts.images)
        assert len(html.encode()) < 102_000


def test_sidecar_describes_the_message_for_the_send_step(recap_files) -> None:
    sidecar = json.loads(recap_files[RECAP + "message.json"])
    eml = recap_files[RECAP + "message.eml"]
    assert sidecar == {
        "version": 1, "issue_id": "2024-recap",
        "subject": "Looking back at 2024: PyTorch community events, and what's next",
        "preheader": sidecar["preheader"], "from": "PyTorch Foundation <newsletter@pytorch.org>",
        "date": "2025-01-06", "message_id": "<newsletter.2024-recap@pytorch.org>",
        "list_id": "newsletter.pytorch.org",
        "paths": {"eml": RECAP + "message.eml", "html": RECAP + "index.html",
                  "text": RECAP + "index.txt"},
        "eml_sha256": hashlib.sha256(eml).hexdigest(),
        "archive_url": "https://pytorch.org/newsletter/2024-recap/",
        "placeholders": {"unsubscribe_url": "{{UNSUBSCRIBE_URL}}"}}
    assert sidecar["preheader"].startswith("Meetups from Seattle to Seoul")


# --- small, hand-made inputs -------------------------------------------------------------

@pytest.fixture
def templates_here(in_tmp: Path) -> Path:
    """A working directory holding a copy of the project's templates/email/."""
    shutil.copytree(ROOT / "templates", in_tmp / "templates")
    return in_tmp


@pytest.fixture
def site_settings(templates_here: Path, settings: Settings) -> Settings:
    """Settings of the site in the working directory, whose templates override the theme."""
    return replace(settings, site=templates_here)


def event(event_id: str, day: dt.date, **extra) -> Event:
    return Event(id=event_id, title=extra.pop("title", event_id.title()), kind="meetup",
                 start=day, end=day, source=f"events/{event_id}.yaml", **extra)


def make_issue(**extra) -> Issue:
    values = {"id": "2025-01", "title": "January", "date": dt.date(2025, 1, 31),
              "period_start": dt.date(2025, 1, 1), "period_end": dt.date(2025, 1, 31),
              "source": "newsletters/2025-01.yaml"}
    return Issue(**(values | extra))


def all_html(files: dict[str, bytes], issue_id: str = "2025-01") -> Iterator[str]:
    yield files[f"newsletter/{issue_id}/index.html"].decode()
    yield parse_eml(files[f"newsletter/{issue_id}/message.eml"])[2]


def test_hostile_text_everywhere_is_inert(templates_here, settings: Settings) -> None:
    bad = event("bad", dt.date(2025, 1, 10), title="Title " + HOSTILE,
                summary="Summary " + HOSTILE, url="https://e.example/?a=1&b=<2>",
                description=(f"Description {HOSTILE}\n\n[click](javascript:alert(1)) "
                             '<a href="javascript:alert(2)">a</a> <b onmouseover=alert(3)>b</b>'),
                highlights=("**Highlight** " + HOSTILE, "[j](JaVaScRiPt:alert(1))"),
                links=(Link("Link " + HOSTILE, "https://l.example/?q=<x>&y=\"z\""),),
                image=Image("https://i.example/a.png?x=1&y=2", 'Alt " onerror=alert(1) ' + HOSTILE),
                hosts=("Host " + HOSTILE,))
    upcoming = event("soon", dt.date(2025, 3, 1), title="Soon " + HOSTILE, summary=HOSTILE)
    issue = make_issue(title="Issue " + HOSTILE, subject="Subject " + HOSTILE,
                       preheader="Pre " + HOSTILE, intro="Intro " + HOSTILE,
                       outro="Outro " + HOSTILE,
                       sections=(Section("Section " + HOSTILE, "Body " + HOSTILE,
                                         (Link("Section link " + HOSTILE, "https://s.example/"),)),))
    hostile_settings = Settings(site_name="Site " + HOSTILE, base_url="https://e.example/",
                                sender="News <news@e.example>")
    files = render_issue_files((bad, upcoming), issue, hostile_settings, PINNED_NOW)
    for html in all_html(files):
        facts = scan(html)
        assert not {"script", "iframe", "mj-text", "mj-raw", "mj-column"} & set(facts.tags)
        assert facts.handlers == []
        assert facts.script_urls == []
        assert facts.images == [{"alt": 'Alt " onerror=alert(1) ' + HOSTILE, "height": "auto",
                                 "src": "https://i.example/a.png?x=1&y=2", "width": "600",
                                 "style": facts.images[0]["style"]}]
        # Every piece of hostile text arrives as the very text that was written.
        for label in ("Title ", "Summary ", "Link ", "Host ", "Issue ", "Section ", "Soon "):
            assert label + HOSTILE in facts.text.replace("With Host", "Host"), label
    message = email.message_from_bytes(files["newsletter/2025-01/message.eml"],
                                       policy=policy.default)
    assert message["Subject"] == "Subject " + HOSTILE


def test_relative_image_resolves_against_the_base_url(templates_here, settings) -> None:
    pictured = event("pic", dt.date(2025, 1, 10), image=Image("assets/p.jpg", "A picture"))
    files = render_issue_files((pictured,), make_issue(), settings, PINNED_NOW)
    for html in all_html(files):
        assert [img["src"] for img in scan(html).images] == [
            "https://events.example.org/assets/p.jpg"]


def test_relative_markdown_link_is_an_error_naming_the_event_file(templates_here,
                                                                  settings) -> None:
    linked = event("linked", dt.date(2025, 1, 10), description="See [the notes](/notes/).")
    with pytest.raises(InvalidInput) as error:
        render_issue_files((linked,), make_issue(), settings, PINNED_NOW)
    assert [str(p) for p in error.value.problems] == [
        "events/linked.yaml: the link '/notes/' in 'description' is not an absolute URL an "
        "e-mail can open; write it in full, e.g. https://events.example.org/notes/"]


def test_relative_link_in_issue_intro_names_the_issue_file(templates_here, settings) -> None:
    with pytest.raises(InvalidInput) as error:
        render_issue_files((), make_issue(intro="[archive](newsletter/)"), settings, PINNED_NOW)
    assert str(error.value.problems[0]).startswith(
        "newsletters/2025-01.yaml: the link 'newsletter/' in 'intro'")


def test_cancelled_and_recurring_events_say_so(templates_here, settings) -> None:
    from pipeline.model import Recurrence
    cancelled = event("off", dt.date(2025, 1, 10), status=Status.CANCELLED)
    weekly = event("weekly", dt.date(2025, 1, 8),
                   recurrence=Recurrence("FREQ=WEEKLY;COUNT=10"))
    text = render_issue_files((cancelled, weekly), make_issue(), settings,
                              PINNED_NOW)["newsletter/2025-01/index.txt"].decode()
    assert "Off\n---\nCancelled · January 10, 2025" in text
    # Still running on the issue's date: looked ahead to, with its next occurrence.
    assert "Weekly\nFebruary 5, 2025 · Repeats weekly" in text


def test_looking_ahead_can_be_limited_or_switched_off(templates_here, settings) -> None:
    later = [event(f"later-{n}", dt.date(2025, 2, n)) for n in (3, 1, 2)]
    text = render_issue_files(tuple(later), make_issue(looking_ahead=2), settings,
                              PINNED_NOW)["newsletter/2025-01/index.txt"].decode()
    assert "Later-1" in text and "Later-2" in text and "Later-3" not in text
    assert text.index("Later-1") < text.index("Later-2")
    assert "https://events.example.org/calendar/events/later-1.ics" in text
    off = render_issue_files(tuple(later), make_issue(looking_ahead=0), settings,
                             PINNED_NOW)["newsletter/2025-01/index.txt"].decode()
    assert "LOOKING AHEAD" not in off and "Later-1" not in off


def test_no_issues_renders_nothing_and_needs_no_templates(in_tmp, settings) -> None:
    assert render_newsletters((event("a", dt.date(2025, 1, 1)),), (), settings, PINNED_NOW) == {}


def test_a_folder_without_templates_renders_with_the_packaged_theme(in_tmp, settings) -> None:
    # Issue 12: the theme ships with the package; the working directory holds no templates.
    files = render_newsletters((), (make_issue(),), settings, PINNED_NOW)
    assert "January" in files["newsletter/2025-01/index.txt"].decode()


def test_a_site_template_overrides_only_that_template(in_tmp, settings) -> None:
    site = in_tmp / "site"
    (site / "templates/email").mkdir(parents=True)
    footer = (ROOT / "templates/email/_footer.mjml.j2").read_text()
    anchor = '{{ _("Atom feed") }}</a>'
    assert anchor in footer  # else the override below would change nothing
    (site / "templates/email/_footer.mjml.j2").write_text(
        footer.replace(anchor, anchor + " · our own footer"))
    files = render_newsletters((), (make_issue(),), replace(settings, site=site), PINNED_NOW)
    html = files["newsletter/2025-01/index.html"].decode()
    assert "our own footer" in html
    assert "January" in html  # the rest still comes from the packaged theme
    # Another site, or none, is not affected.
    plain = render_newsletters((), (make_issue(),), settings, PINNED_NOW)
    assert "our own footer" not in plain["newsletter/2025-01/index.html"].decode()


def test_template_mistake_names_template_and_line(templates_here, site_settings) -> None:
    footer = templates_here / "templates/email/_footer.mjml.j2"
    lines = footer.read_text().splitlines()
    footer.write_text("\n".join([*lines, "{{ issue.no_such_thing }}", ""]))
    with pytest.raises(PipelineError) as error:
        render_issue_files((), make_issue(), site_settings, PINNED_NOW)
    assert error.value.message.startswith(f"templates/email/_footer.mjml.j2:{len(lines) + 1}: "
                                          "rendering issue '2025-01' failed:")
    assert "no_such_thing" in error.value.message


def test_mjml_compile_error_names_the_issue_file(templates_here, site_settings) -> None:
    layout = templates_here / "templates/email/issue.mjml.j2"
    layout.write_text(layout.read_text().replace("</mj-body>", "</mj-body><mj-body"))
    with pytest.raises(PipelineError) as error:
        render_issue_files((), make_issue(), site_settings, PINNED_NOW)
    assert error.value.message.startswith(
        "newsletters/2025-01.yaml: MJML could not compile the issue's e-mail (")


def test_preflight_stops_an_issue_whose_template_links_relatively(templates_here,
                                                                  site_settings) -> None:
    footer = templates_here / "templates/email/_footer.mjml.j2"
    footer.write_text(footer.read_text().replace('href="{{ issue.feed_url }}"',
                                                 'href="feed.xml"'))
    with pytest.raises(PipelineError) as error:
        render_issue_files((), make_issue(), site_settings, PINNED_NOW)
    assert "newsletters/2025-01.yaml: the e-mail's HTML: <a href=\"feed.xml\">" in \
        error.value.message


def test_archive_lists_issues_newest_first(templates_here, site_settings) -> None:
    issues = (make_issue(id="a", title="Older <one>", date=dt.date(2025, 1, 31)),
              make_issue(id="b", title="Newer", date=dt.date(2025, 2, 28)))
    files = render_newsletters((), issues, site_settings, PINNED_NOW)
    facts = scan(files["newsletter/index.html"])
    assert [h for h in facts.hrefs if "/newsletter/" in h and h.endswith("/")] == [
        "https://events.example.org/newsletter/b/", "https://events.example.org/newsletter/a/"]
    assert "Older <one>" in facts.text and "script" not in facts.tags
    assert set(files) == {"newsletter/index.html", "newsletter/feed.xml",
                          *(f"newsletter/{i}/{n}" for i in "ab" for n in
                            ("index.html", "index.txt", "message.eml", "message.json"))}


def test_issues_rendered_in_workers_are_the_bytes_of_one_at_a_time(
        bundled, monkeypatch: pytest.MonkeyPatch) -> None:
    events, (recap,), settings = bundled
    issues = tuple(replace(recap, id=f"2024-{month:02d}", date=dt.date(2024, month, 28))
                   for month in (3, 6, 9, 12))
    monkeypatch.setattr(issues_module, "PARALLEL_FROM", 100)
    one_at_a_time = render_newsletters(events, issues, settings, PINNED_NOW)
    monkeypatch.setattr(issues_module, "PARALLEL_FROM", 2)
    asked: list[int] = []
    fork_map = issues_module.fork_map
    monkeypatch.setattr(issues_module, "fork_map", lambda function, items, parallel_from: (
        asked.append(len(items) - parallel_from), fork_map(function, items, parallel_from))[1])
    in_workers = render_newsletters(events, issues, settings, PINNED_NOW)
    assert asked == [2]  # four issues, workers from two on (when the machine has two cores)
    assert list(in_workers) == list(one_at_a_time)  # the same files, in the same order
    assert in_workers == one_at_a_time


def test_a_template_mistake_in_a_worker_names_template_and_line(
        templates_here, site_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(issues_module, "PARALLEL_FROM", 2)
    footer = templates_here / "templates/email/_footer.mjml.j2"
    lines = footer.read_text().splitlines()
    footer.write_text("\n".join([*lines, "{{ issue.no_such_thing }}", ""]))
    issues = (make_issue(), make_issue(id="2025-02", date=dt.date(2025, 2, 28)))
    with pytest.raises(PipelineError) as error:
        render_newsletters((), issues, site_settings, PINNED_NOW)
    assert error.value.message.startswith(f"templates/email/_footer.mjml.j2:{len(lines) + 1}: "
                                          "rendering issue '2025-01' failed:")


# --- through the command line ------------------------------------------------------------

EVENT_YAML = """
title: Autumn meetup
kind: meetup
start: 2024-11-14
summary: Talks & pizza.
"""


def test_cli_newsletter_renders_an_adhoc_issue(templates_here: Path, write_yaml) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    write_yaml("events/autumn.yaml", EVENT_YAML)
    result = CliRunner().invoke(cli, ["newsletter", "--from", "2024-11-01", "--to",
                                      "2024-11-30", "--now", "2024-12-02T08:00:00Z", "-q"])
    assert (result.exit_code, result.output) == (0, "")
    folder = templates_here / "output/newsletter/events-2024-11-01-to-2024-11-30"
    assert sorted(p.name for p in folder.iterdir()) == [
        "index.html", "index.txt", "message.eml", "message.json"]
    text = (folder / "index.txt").read_text()
    assert f"EVENTS OF NOV 1\u2009{DASH}\u200930, 2024" in text
    assert "Autumn meetup\n-------------\nNovember 14, 2024" in text
    assert "Talks & pizza." in text


def test_cli_build_in_a_site_without_templates_uses_the_packaged_theme(in_tmp: Path,
                                                                       write_yaml) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    write_yaml("site/events/autumn.yaml", EVENT_YAML)
    write_yaml("site/newsletters/2024-11.yaml", "title: November\ndate: 2024-12-02\n"
               "period: {from: 2024-11-01, to: 2024-11-30}\n")
    # Run from elsewhere: everything resolves against --site, nothing against the cwd.
    (in_tmp / "elsewhere").mkdir()
    with chdir(in_tmp / "elsewhere"):
        result = CliRunner().invoke(cli, ["build", "--site", "../site", "--now", "2024-12-02",
                                          "-q"])
    assert (result.exit_code, result.output) == (0, "")
    assert "Autumn meetup" in (in_tmp / "site/output/newsletter/2024-11/index.txt").read_text()
    assert not (in_tmp / "elsewhere/output").exists()


def test_mjml_error_at_a_position_names_the_template_line(templates_here, site_settings) -> None:
    # Issue 12: MJML reports "position 14124" of the rendered source; users need file:line.
    footer = templates_here / "templates/email/_footer.mjml.j2"
    lines = footer.read_text().splitlines()
    footer.write_text("\n".join([*lines, "    <mj-column></mj-column></mj-section>", ""]))
    with pytest.raises(PipelineError) as error:
        render_issue_files((), make_issue(), site_settings, PINNED_NOW)
    # MJML notices at the next tag, the layout's </mj-body>: exactly that line is named.
    layout = (templates_here / "templates/email/issue.mjml.j2").read_text().splitlines()
    body_end = next(i for i, line in enumerate(layout, 1) if line.strip() == "</mj-body>")
    assert re.match(rf"templates/email/issue\.mjml\.j2:{body_end}: MJML could not compile the "
                    r"issue's e-mail \(unexpected token in root template at position \d+",
                    error.value.message), error.value.message


def test_check_renders_every_issue_and_names_a_template_typo(in_tmp: Path, write_yaml) -> None:
    # Issue 12: a template typo passed `check` and failed only at `build`.
    from click.testing import CliRunner

    from pipeline.cli import cli

    write_yaml("events/autumn.yaml", EVENT_YAML)
    write_yaml("newsletters/2024-11.yaml", "title: November\ndate: 2024-12-02\n"
               "period: {from: 2024-11-01, to: 2024-11-30}\n")
    assert CliRunner().invoke(cli, ["check"]).exit_code == 0
    footer = in_tmp / "templates/email/_footer.mjml.j2"
    footer.parent.mkdir(parents=True)
    lines = (ROOT / "templates/email/_footer.mjml.j2").read_text().splitlines()
    footer.write_text("\n".join([*lines, "{{ issue.archive_ulr }}", ""]))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: templates/email/_footer.mjml.j2:{len(lines) + 1}: "
                                    "rendering issue '2024-11' failed:"), result.stderr
    assert not (in_tmp / "output").exists()
