"""`pipeline init [DIR]`: a new site folder that builds at once, with commented examples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.errors import PipelineError, display_path

SETTINGS = """\
# Settings of this site. Every key is optional; docs/formats.md of the pipeline lists them
# all. Quote any value that contains " #" or starts with a special character: in YAML,
# " #" starts a comment, so `title: Meetup #41` would silently become "Meetup".
site_name: My Community
# Where output/ is served. Links in feeds and e-mails point here.
base_url: https://events.example.org/
# UIDs are <event id>@<uid_domain>: never change this once feeds are published.
uid_domain: events.example.org
calendar_name: My Community Events
refresh_interval: 12h
sender: My Community <newsletter@example.org>
branding:
  accent_color: "#c2410c"       # links and headings; quoted: # starts a YAML comment
  # logo: {src: https://events.example.org/logo.png, alt: My Community, width: 120}
  footer: "Organised by volunteers. Write to us at <hello@example.org>."
  # Bulk mail must carry a postal address in the US (CAN-SPAM) and several other countries.
  postal_address: |
    My Community
    1 Example Street, Example City
  # subscribe_url: https://events.example.org/subscribe   # no subscribe link without it
  social: []   # e.g. [{title: Mastodon, url: "https://example.social/@us"}]
# Extra feeds beside calendar/upcoming.ics, chosen by kinds and/or tags.
feeds:
  - id: meetups
    name: My Community Meetups
    kinds: [meetup]
"""

ONE_OFF = """\
# One event. The file name (without .yaml) is its id, and the id is its UID: keep it (or
# write `id: {slug}`) when you rename the file, or subscribers lose the event.
title: "First meetup: lightning talks"
kind: meetup
start: "{day} 18:30"
duration: 2h
timezone: Europe/Lisbon
location:
  name: Example Venue
  city: Lisbon
  country: Portugal
url: https://events.example.org/first-meetup
summary: Five-minute talks by members, then drinks. Everyone is welcome.
tags: [in-person]
"""

SERIES = """\
# A series: the first occurrence, then an RFC 5545 rule. `except:` lists dates to skip.
title: Monthly community call
kind: meeting
start: "{day} 17:00"
duration: 1h
timezone: UTC
recurrence:
  rule: "FREQ=MONTHLY;BYDAY={weekday}"
location:
  name: Online
  online: true
summary: News, questions and plans, online, on the {ordinal} {weekday_name} of each month.
tags: [online]
"""

ISSUE = """\
# A newsletter issue: what happened in the period (events of those days), your sections,
# then the upcoming events. Build it with `pipeline build`; mail it with `pipeline send`.
title: Welcome to our newsletter
date: {today}
period:
  from: {start}
  to: {today}
intro: |
  This is the first issue of our newsletter. Here is what is coming up.
sections:
  - title: Get involved
    body: Would you like to give a talk? **Reply to this e-mail.**
"""

GITIGNORE = """\
# Built by `pipeline build`; rebuilt from the sources at any time.
/output/
/.pipeline-cache/
"""

README = """\
# {name}

A site of the calendar and newsletter pipeline: `events/` become iCalendar feeds and
`newsletters/` become e-mails, published to `output/`.

    pipeline check          # validate everything and render every issue; writes nothing
    pipeline build          # publish output/ (feeds, issues, archive)
    pipeline serve --watch  # preview output/ at http://127.0.0.1:8000/, rebuilt on change

Override one template of the theme by copying it to `templates/email/` (same name).

## Building on a schedule

Feeds show *upcoming* events, so rebuild at least daily even when nothing changed.
With cron (`crontab -e`), every hour:

    17 * * * * cd {path} && pipeline build --quiet

Or a systemd user timer: `~/.config/systemd/user/pipeline-build.service`

    [Unit]
    Description=Build the {name} site

    [Service]
    Type=oneshot
    WorkingDirectory={path}
    ExecStart=pipeline build --quiet

and `~/.config/systemd/user/pipeline-build.timer`, then
`systemctl --user enable --now pipeline-build.timer`:

    [Timer]
    OnCalendar=hourly
    Persistent=true

    [Install]
    WantedBy=timers.target
"""

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = ("first", "second", "third", "fourth")


def starter_files(folder: Path, today: dt.date) -> dict[str, str]:
    """The files of a new site; example dates are fixed dates after `today`."""
    meetup = today + dt.timedelta(days=14)
    call = today + dt.timedelta(days=7)
    # The rule names the weekday and week of the first date (e.g. 2TH); a 5th week is rare.
    while call.day > 28:
        call += dt.timedelta(days=1)
    week = (call.day - 1) // 7
    return {
        "pipeline.yaml": SETTINGS,
        "events/first-meetup.yaml": ONE_OFF.format(day=meetup.isoformat(), slug="first-meetup"),
        "events/community-call.yaml": SERIES.format(
            day=call.isoformat(), weekday=f"{week + 1}{WEEKDAYS[call.weekday()]}",
            weekday_name=WEEKDAY_NAMES[call.weekday()], ordinal=ORDINALS[week]),
        f"newsletters/{today:%Y-%m}-welcome.yaml": ISSUE.format(
            today=today.isoformat(), start=(today - dt.timedelta(days=30)).isoformat()),
        ".gitignore": GITIGNORE,
        "README.md": README.format(name=folder.resolve().name or "site",
                                   path=folder.resolve()),
    }


def init_site(folder: Path, today: dt.date) -> str:
    """Write a new site into `folder`; refuses (writing nothing) if any of its files exist."""
    files = starter_files(folder, today)
    existing = [name for name in files if (folder / name).exists()]
    if existing:
        raise PipelineError(
            f"{display_path(folder)} already has {', '.join(existing)}; nothing was written. "
            "Choose an empty folder: pipeline init NEW-FOLDER")
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never overwrite, even in a race
            file.write(text)
    where = display_path(folder)
    hint = "" if where == "." else f"cd {where} && "
    return (f"created a site in {where}: pipeline.yaml, events/, newsletters/, README.md.\n"
            f"Next: {hint}pipeline serve --watch")
