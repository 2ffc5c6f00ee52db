"""`pipeline send`: mail a published issue to each recipient once, paced, retried, ledgered."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Callable
from email import policy
from email.utils import parseaddr

import click

from pipeline.errors import PipelineError, display_path
from pipeline.publish.lock import hold_lock, lock_timeout
from pipeline.send.ledger import SENDING, SENT, SendLedger
from pipeline.send.message import (
    check_template,
    extract_message_id,
    has_placeholder,
    load_issue_message,
    mailto_url,
    personalize,
    unsubscribe_url,
)
from pipeline.send.progress import Progress
from pipeline.send.request import UNSUBSCRIBE_ENV, SendReport, SendRequest, read_suppressions


class Pacer:
    """At most `rate` messages per second: waits before each one as needed."""

    def __init__(self, rate: float, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep, self.clock = sleep, clock
        self.next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def send_issue(request: SendRequest, clock: Callable[[], dt.datetime]) -> SendReport:
    """Run `pipeline send`, `clock` timing the ledger; PipelineError (exit 1) if an address failed."""
    from pipeline.send.mailer import Mailer

    message, placeholder = load_issue_message(request.out_dir, request.issue_id)
    if has_placeholder(message, placeholder) and not (request.unsubscribe_template
                                                      or request.unsubscribe_mailto):
        raise click.UsageError(f"the issue has an unsubscribe placeholder: pass --unsubscribe-url "
                               f"(or set ${UNSUBSCRIBE_ENV}), e.g. "
                               "https://example.org/unsubscribe?email={email}, and/or "
                               "--unsubscribe-mailto ADDR")
    suppressed = read_suppressions(request.suppress_file) if request.suppress_file else set()
    if request.unsubscribe_template:
        check_template(request.unsubscribe_template)
    ledger = SendLedger(request.ledger_dir, request.issue_id)
    lock = request.ledger_dir / f".{request.issue_id}.lock"
    report = SendReport()
    started = time.perf_counter()
    # A dry run only reads the ledger: it takes no lock and creates no folder.
    guard = (contextlib.nullcontext() if request.dry_run else
             hold_lock(lock, lock_timeout(None), f"another send of '{request.issue_id}'"))
    with guard:
        state = ledger.read()
        sent, in_doubt = state.sent(), state.in_doubt()
        todo = []
        for recipient in request.recipients:
            if recipient.key in suppressed:  # before the ledger: they left, whatever it says
                report.suppressed.append(recipient.address)
            elif recipient.key in sent:
                report.already_sent.append(recipient.address)
            elif recipient.key in in_doubt and not request.resend_in_doubt:
                report.in_doubt.append(recipient.address)
            else:
                todo.append(recipient)
        envelope_from = request.envelope_from or parseaddr(str(message["From"]))[1]
        mailer = None if request.dry_run else Mailer(request, envelope_from, ledger, clock)
        pacer = Pacer(request.rate)
        source = message.as_bytes(policy=policy.SMTP)  # once: each copy starts from it
        progress = Progress(len(todo), request.progress_stream or sys.stderr,
                            enabled=not (request.quiet or request.verbose or request.dry_run))
        try:
            for recipient in todo:
                url = (unsubscribe_url(request.unsubscribe_template, recipient, request.issue_id)
                       if request.unsubscribe_template else None)
                mailto = (mailto_url(request.unsubscribe_mailto, recipient)
                          if request.unsubscribe_mailto else None)
                if mailer is None:
                    personalize(source, placeholder, recipient, url, clock(), mailto)
                    click.echo(f"would send {request.issue_id} to {recipient.header}"
                               + (f" (unsubscribe: {url or mailto})" if url or mailto else ""))
                    continue
                pacer.wait()
                # Date: the moment this copy goes out (the build's .eml has the issue's date).
                data = personalize(source, placeholder, recipient, url, clock(), mailto)
                outcome, error = mailer.deliver(recipient, data, extract_message_id(data))
                if outcome == SENT:
                    report.sent.append(recipient.address)
                elif outcome == SENDING:
                    report.in_doubt.append(recipient.address)
                else:
                    report.failed[recipient.address] = error or "refused"
                progress.step(len(report.failed))
                if request.verbose and not request.quiet:
                    click.echo(f"  {outcome if outcome != SENDING else 'in doubt':9} "
                               f"{recipient.address}" + (f" ({error})" if error else ""))
        finally:
            progress.finish()
            if mailer is not None:
                mailer.close()
            ledger.close()
    _report(request, report, len(todo), time.perf_counter() - started)
    return report


def _report(request: SendRequest, report: SendReport, todo: int, seconds: float) -> None:
    """One summary line; warnings for in-doubt addresses; exit 1 when some failed."""
    if request.dry_run:
        if not request.quiet:
            click.echo(f"dry run: {request.issue_id}: would send {todo}, "
                       f"{len(report.already_sent)} already sent, {len(report.in_doubt)} in "
                       f"doubt, {len(report.suppressed)} suppressed; nothing was sent")
        return
    if not request.quiet:
        rate = f" ({len(report.sent) / seconds:.1f}/s)" if report.sent and seconds > 0 else ""
        click.echo(f"sent: {request.issue_id}: {len(report.sent)} sent, "
                   f"{len(report.already_sent)} already sent, {len(report.in_doubt)} in doubt, "
                   f"{len(report.failed)} failed, {len(report.suppressed)} suppressed "
                   f"in {seconds:.2f}s{rate}")
    if report.in_doubt:
        click.echo(f"warning: not sent again, in doubt (the message was handed over but the "
                   "server's answer never got recorded: the run or the connection stopped): "
                   f"{', '.join(report.in_doubt)}; "
                   "check the mail server's log, and pass --resend-in-doubt to mail them anyway",
                   err=True)
    if report.failed:
        listed = "; ".join(f"{a}: {e}" for a, e in report.failed.items())
        raise PipelineError(f"{len(report.failed)} not sent ({listed}); re-run to retry them "
                            f"(the ledger {display_path(request.ledger_dir)} skips those sent)")


