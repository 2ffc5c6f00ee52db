"""The `pipeline` command line: build, check, newsletter, send, serve (imports are lazy)."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path

import click

from pipeline import __version__

STARTED = time.perf_counter()  # the summary line's time is the run's, from here

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
               quiet=quiet, verbose=verbose, lock_timeout=lock_timeout, started=STARTED)


@cli.command()
@events_option
@newsletters_option
@config_option
def check(events_dir: Path, newsletters_dir: Path, config: Path | None) -> None:
    """Validate event, issue and settings files without writing anything."""
    from pipeline.build import load_inputs, plural

    events, issues, _ = load_inputs(events_dir, newsletters_dir, config)
    click.echo(f"ok: {plural(len(events), 'event')}, {plural(len(issues), 'newsletter issue')}")


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


@cli.command()
@click.argument("issue")
@click.option("--smtp", metavar="HOST:PORT", help="SMTP server (relay or submission port). "
              "Required unless --dry-run.")
@click.option("--to", multiple=True, metavar="ADDR", help="A recipient; repeat for more.")
@click.option("--list", "list_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="File of recipients, one address per line; # starts a comment.")
@click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS (port 587).")
@click.option("--ssl", "implicit_tls", is_flag=True, help="Connect with TLS from the start (465).")
@click.option("--unsubscribe-url", envvar="PIPELINE_UNSUBSCRIBE_URL", metavar="TEMPLATE",
              help="Each recipient's unsubscribe link: {email} (URL-encoded address), {token} "
              "(HMAC of the address with $PIPELINE_UNSUBSCRIBE_SECRET), {issue}. "
              "Default: $PIPELINE_UNSUBSCRIBE_URL.")
@click.option("--envelope-from", metavar="ADDR", help="Bounce address. Default: the From address.")
@click.option("--rate", type=click.FloatRange(min=0), default=5.0, show_default=True, metavar="N",
              help="At most this many messages per second (0: no pause).")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True, metavar="N",
              help="Retries of a transient failure (4xx reply, dropped connection), with backoff.")
@click.option("--ledger", "ledger_dir", type=click.Path(path_type=Path, file_okay=False),
              envvar="PIPELINE_SEND_LEDGER", default=Path(".send-ledger"), show_default=True,
              help="Folder of send ledgers (keep it: it is what prevents a second mailing).")
@click.option("--resend-in-doubt", is_flag=True, help="Also mail addresses an interrupted run "
              "may or may not have reached (they may get the issue twice).")
@click.option("--dry-run", is_flag=True, help="Send nothing; print what would be sent.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("output"), show_default=True,
              help="Publish root holding newsletter/ISSUE/message.eml.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.option("--verbose", "-v", is_flag=True, help="One line per recipient.")
def send(issue: str, smtp: str | None, to: tuple[str, ...], list_file: Path | None,
         starttls: bool, implicit_tls: bool, unsubscribe_url: str | None,
         envelope_from: str | None, rate: float, retries: int, ledger_dir: Path,
         resend_in_doubt: bool, dry_run: bool, out_dir: Path, quiet: bool, verbose: bool) -> None:
    """Mail the published issue ISSUE to each recipient once (credentials: $PIPELINE_SMTP_USER,
    $PIPELINE_SMTP_PASSWORD)."""
    from pipeline.send.campaign import send_issue
    from pipeline.send.request import SendRequest, parse_smtp_address, read_recipients

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", issue):
        raise click.BadParameter(f"{issue!r} is not an issue id (a slug such as 2024-recap)",
                                 param_hint="ISSUE")
    if not to and list_file is None:
        raise click.UsageError("give recipients with --to ADDR or --list FILE")
    if smtp is None and not dry_run:
        raise click.UsageError("give the SMTP server with --smtp HOST:PORT (or use --dry-run)")
    host, port = parse_smtp_address(smtp) if smtp else ("", 0)
    send_issue(SendRequest(
        issue_id=issue, out_dir=out_dir, recipients=read_recipients(to, list_file),
        smtp_host=host, smtp_port=port, starttls=starttls, implicit_tls=implicit_tls,
        unsubscribe_template=unsubscribe_url, envelope_from=envelope_from, rate=rate,
        retries=retries, ledger_dir=ledger_dir, resend_in_doubt=resend_in_doubt,
        dry_run=dry_run, quiet=quiet, verbose=verbose), clock=current_time)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=Path("output"), show_default=True, help="Publish root to serve.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0: any free port; the first line says which).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
def serve(out_dir: Path, port: int, bind: str) -> None:
    """Preview the publish root over HTTP with production content types and cache headers."""
    from pipeline.publish.serve import serve as serve_forever

    serve_forever(out_dir, bind, port)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pipeline")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
