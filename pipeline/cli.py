"""The `pipeline` command line: build, check, newsletter (heavy imports are lazy)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from pipeline import __version__

EVENTS_HELP = "Folder of event files (*.yaml, any sub-folders)."
NEWSLETTERS_HELP = "Folder of newsletter issue files; a missing folder means no issues."
OUT_HELP = "Publish root to write (created if missing)."
NOW_HELP = ("Pin 'now' (ISO date or date-time; without an offset it is UTC) so that the build "
            "is reproducible. Default: the current time.")
CONFIG_HELP = "Settings file. Default: ./pipeline.yaml when it exists, else built-in defaults."


class NowType(click.ParamType):
    """An ISO date or date-time as an aware UTC datetime."""

    name = "DATETIME"

    def convert(self, value, param, ctx) -> dt.datetime:  # type: ignore[override]
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO date or date-time (e.g. 2025-01-06 or "
                      "2025-01-06T09:00:00Z)", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


class DateType(click.ParamType):
    """An ISO date (YYYY-MM-DD)."""

    name = "DATE"

    def convert(self, value, param, ctx) -> dt.date:  # type: ignore[override]
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD", param, ctx)


def current_time() -> dt.datetime:
    """The only place that reads the clock: `--now`'s default."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def events_option(f):
    return click.option("--events", "events_dir", type=click.Path(path_type=Path),
                        default=Path("events"), show_default=True, help=EVENTS_HELP)(f)


def newsletters_option(f):
    return click.option("--newsletters", "newsletters_dir", type=click.Path(path_type=Path),
                        default=Path("newsletters"), show_default=True,
                        help=NEWSLETTERS_HELP)(f)


def out_option(f):
    return click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
                        default=Path("output"), show_default=True, help=OUT_HELP)(f)


def now_option(f):
    return click.option("--now", type=NowType(), default=None, help=NOW_HELP)(f)


def config_option(f):
    return click.option("--config", type=click.Path(path_type=Path, dir_okay=False),
                        default=None, help=CONFIG_HELP)(f)


def lock_option(f):
    return click.option("--lock-timeout", type=click.FloatRange(min=0), default=None,
                        metavar="SECONDS", help="How long to wait for another build writing to "
                        "--out before giving up with exit status 75. Default: "
                        "$PIPELINE_LOCK_TIMEOUT, else 60.")(f)


def verbosity_options(f):
    f = click.option("--quiet", "-q", is_flag=True, help="Print nothing on success (for cron).")(f)
    return click.option("--verbose", "-v", is_flag=True, help="List every file written.")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline")
def cli() -> None:
    """Publish community events as iCalendar feeds and newsletter issues.

    Exit status: 0 success, 1 invalid input (every problem listed as path:line: message),
    2 wrong usage, 75 another build holds the output folder's lock.
    """


@cli.command()
@events_option
@newsletters_option
@out_option
@now_option
@config_option
@verbosity_options
@lock_option
def build(events_dir: Path, newsletters_dir: Path, out_dir: Path, now: dt.datetime | None,
          config: Path | None, quiet: bool, verbose: bool, lock_timeout: float | None) -> None:
    """Validate everything, render feeds and issues, then publish them to --out."""
    from pipeline.build import build_site

    build_site(events_dir, newsletters_dir, out_dir, now or current_time(), config,
               quiet=quiet, verbose=verbose, lock_timeout=lock_timeout)


@cli.command()
@events_option
@newsletters_option
@config_option
def check(events_dir: Path, newsletters_dir: Path, config: Path | None) -> None:
    """Validate event, issue and settings files without writing anything."""
    from pipeline.build import load_inputs

    events, issues, _ = load_inputs(events_dir, newsletters_dir, config)
    click.echo(f"ok: {len(events)} events, {len(issues)} newsletter issues")


@cli.command()
@click.option("--from", "start", type=DateType(), required=True, help="First day of the period.")
@click.option("--to", "end", type=DateType(), required=True, help="Last day of the period.")
@click.option("--title", default=None, help="Headline. Default: 'Events from FROM to TO'.")
@events_option
@out_option
@now_option
@config_option
@verbosity_options
@lock_option
def newsletter(start: dt.date, end: dt.date, title: str | None, events_dir: Path,
               out_dir: Path, now: dt.datetime | None, config: Path | None, quiet: bool,
               verbose: bool, lock_timeout: float | None) -> None:
    """Render an ad-hoc issue of the events between --from and --to (e.g. last month)."""
    from pipeline.build import build_adhoc_issue

    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    build_adhoc_issue(start, end, title, events_dir, out_dir, now or current_time(), config,
                      quiet=quiet, verbose=verbose, lock_timeout=lock_timeout)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pipeline")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
