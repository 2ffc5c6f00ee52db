"""`pipeline send`: mail a published issue to each recipient once, paced, retried, ledgered.

Credentials come from the environment, never from the command line (which `ps` shows):
PIPELINE_SMTP_USER and PIPELINE_SMTP_PASSWORD (login only when the user is set).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import json
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import formataddr, parseaddr
from pathlib import Path
from urllib.parse import quote, urlsplit

import click

from pipeline.errors import InvalidInput, PipelineError, Problem, display_path
from pipeline.lock import hold_lock, lock_timeout
from pipeline.send_ledger import SENDING, SENT, SendLedger

USER_ENV, PASSWORD_ENV = "PIPELINE_SMTP_USER", "PIPELINE_SMTP_PASSWORD"
UNSUBSCRIBE_ENV = "PIPELINE_UNSUBSCRIBE_URL"
SECRET_ENV = "PIPELINE_UNSUBSCRIBE_SECRET"  # HMAC key of {token}
TEMPLATE_FIELDS = ("{email}", "{token}", "{issue}")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
SEND_POLICY = policy.SMTP.clone(max_line_length=998)  # RFC 5322's line limit
PARSE_POLICY = policy.SMTP.clone(max_line_length=76)  # re-encoded parts: RFC 2045 QP lines


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber: the address (the ledger's key, lower-cased) and the To header."""

    address: str
    header: str

    @property
    def key(self) -> str:
        return self.address.lower()


@dataclass(slots=True)
class SendRequest:
    """Everything `pipeline send` was asked to do."""

    issue_id: str
    out_dir: Path
    recipients: list[Recipient]
    smtp_host: str = ""
    smtp_port: int = 25
    starttls: bool = False
    implicit_tls: bool = False
    unsubscribe_template: str | None = None
    envelope_from: str | None = None
    rate: float = 5.0  # messages per second at most; 0: no pause
    retries: int = 3
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    timeout: float = 60.0
    ledger_dir: Path = Path(".send-ledger")
    resend_in_doubt: bool = False
    dry_run: bool = False
    quiet: bool = False
    verbose: bool = False


@dataclass(slots=True)
class SendReport:
    """What one run did, by address."""

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)  # from this run or an earlier one
    failed: dict[str, str] = field(default_factory=dict)


def parse_smtp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:25` for IPv6) as (host, port); a usage error otherwise."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT, e.g. smtp.example.org:587",
                                 param_hint="--smtp")
    return host, int(port)


def parse_address(text: str) -> Recipient | None:
    """`ada@example.org` or `Ada <ada@example.org>`; None when it is not one address."""
    if "\r" in text or "\n" in text or "," in text.split("<")[-1]:
        return None
    text = text.strip()
    name, address = parseaddr(text)
    # parseaddr forgives a lot (it drops spaces, takes the first of two): insist on exactly it.
    written = text[text.rfind("<") + 1:text.rfind(">")] if text.endswith(">") else text
    if written != address:
        return None
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(c.isspace() for c in address) or "." not in domain:
        return None
    return Recipient(address, formataddr((name, address)) if name else address)


def read_recipients(to: tuple[str, ...], list_file: Path | None) -> list[Recipient]:
    """--to addresses, then --list lines (`#` comments, blanks skipped), deduplicated."""
    recipients: list[Recipient] = []
    for text in to:
        recipient = parse_address(text)
        if recipient is None:
            raise click.BadParameter(f"{text!r} is not an e-mail address", param_hint="--to")
        recipients.append(recipient)
    if list_file is not None:
        problems = []
        try:
            lines = list_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInput([Problem(display_path(list_file), 0, f"cannot read: {error}")]) from None
        for number, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            if not text:
                continue
            recipient = parse_address(text)
            if recipient is None:
                problems.append(Problem(display_path(list_file), number,
                                        f"{text!r} is not an e-mail address; write one address "
                                        "per line, e.g. ada@example.org or Ada <ada@example.org>"))
            else:
                recipients.append(recipient)
        if problems:
            raise InvalidInput(problems)
    unique = {}
    for recipient in recipients:
        unique.setdefault(recipient.key, recipient)
    return list(unique.values())


def unsubscribe_url(template: str, recipient: Recipient, issue_id: str) -> str:
    """The recipient's own unsubscribe link: {email} quoted, {token} = HMAC of the address."""
    url = template.replace("{email}", quote(recipient.address, safe="@"))
    url = url.replace("{issue}", quote(issue_id, safe=""))
    if "{token}" in url:
        secret = os.environ.get(SECRET_ENV, "")
        token = hmac.new(secret.encode(), recipient.key.encode(), hashlib.sha256).hexdigest()[:32]
        url = url.replace("{token}", token)
    return url


def check_template(template: str) -> None:
    """The template must name the recipient and be an https/http or mailto URL."""
    if not any(name in template for name in ("{email}", "{token}")):
        raise click.BadParameter("the unsubscribe URL must contain {email} or {token}, e.g. "
                                 "https://example.org/unsubscribe?email={email}",
                                 param_hint="--unsubscribe-url")
    if any(c.isspace() or not c.isprintable() for c in template):
        raise click.BadParameter("the unsubscribe URL must not contain spaces or control "
                                 "characters", param_hint="--unsubscribe-url")
    if urlsplit(template).scheme not in ("https", "http", "mailto"):
        raise click.BadParameter("the unsubscribe URL must start with https:, http: or mailto:",
                                 param_hint="--unsubscribe-url")
    if "{token}" in template and not os.environ.get(SECRET_ENV):
        raise click.BadParameter(f"{{token}} needs the secret in ${SECRET_ENV}",
                                 param_hint="--unsubscribe-url")


def personalize(message: EmailMessage, placeholder: str, recipient: Recipient,
                url: str | None) -> bytes:
    """A copy of the issue for one recipient: To, Message-ID, unsubscribe link filled in."""
    copy = BytesParser(policy=PARSE_POLICY).parsebytes(message.as_bytes(policy=policy.SMTP))
    del copy["To"]
    copy["To"] = recipient.header
    original_id = str(copy.get("Message-ID", "")).strip("<> ")
    left, _, right = original_id.partition("@")
    if left and right:
        # Distinct content, distinct Message-ID; stable per address, so a retried message
        # can be recognised as a duplicate by the receiving side.
        digest = hashlib.sha256(recipient.key.encode()).hexdigest()[:16]
        copy.replace_header("Message-ID", f"<{left}.{digest}@{right}>")
    if url is not None:
        if "List-Unsubscribe" in copy:
            copy.replace_header("List-Unsubscribe",
                                str(copy["List-Unsubscribe"]).replace(placeholder, url))
        if not url.startswith("https:"):
            del copy["List-Unsubscribe-Post"]  # RFC 8058 one-click needs an https URI
        for part in copy.walk():
            if part.get_content_maintype() != "text" or part.is_attachment():
                continue
            text = part.get_content()
            if placeholder in text:
                subtype = part.get_content_subtype()
                filled = text.replace(placeholder, html.escape(url) if subtype == "html" else url)
                # MIMEPart's set_content: no stray MIME-Version header on a sub-part.
                MIMEPart.set_content(part, filled, subtype=subtype, charset="utf-8",
                                     cte="quoted-printable")
    # Headers unfolded up to 998 octets: folded, a long URL would become an RFC 2047
    # encoded-word that no mail client reads as a URL. (Bodies keep their 76-char QP lines.)
    return copy.as_bytes(policy=SEND_POLICY)


def load_issue_message(out_dir: Path, issue_id: str) -> tuple[EmailMessage, str]:
    """The published message.eml and the placeholder its sidecar names."""
    from pipeline.newsletter_content import UNSUBSCRIBE_PLACEHOLDER

    folder = out_dir / "newsletter" / issue_id
    eml = folder / "message.eml"
    try:
        data = eml.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{display_path(eml)} does not exist; run `pipeline build` first "
                            f"(is '{issue_id}' the issue's id, and --out the publish root?)") from None
    placeholder = UNSUBSCRIBE_PLACEHOLDER
    try:
        sidecar = json.loads((folder / "message.json").read_bytes())
    except (FileNotFoundError, ValueError):
        sidecar = {}  # no sidecar: the placeholder this version writes
    if not isinstance(sidecar, dict):
        sidecar = {}
    expected = sidecar.get("eml_sha256")
    if isinstance(expected, str) and expected != hashlib.sha256(data).hexdigest():
        # Published files are each whole, but these two come from different builds
        # (an interrupted publish, or a hand edit): do not mail something half-updated.
        raise PipelineError(f"{display_path(eml)} does not match the eml_sha256 of its "
                            "message.json; run `pipeline build` again before sending")
    placeholders = sidecar.get("placeholders")
    if isinstance(placeholders, dict) and isinstance(placeholders.get("unsubscribe_url"), str):
        placeholder = placeholders["unsubscribe_url"]
    message = BytesParser(policy=policy.SMTP).parsebytes(data)
    if not parseaddr(str(message.get("From", "")))[1]:
        raise PipelineError(f"{display_path(eml)} has no From address")
    return message, placeholder  # type: ignore[return-value]


def has_placeholder(message: EmailMessage, placeholder: str) -> bool:
    """In a header or a decoded text part (quoted-printable may split it across lines)."""
    if any(placeholder in str(value) for value in message.values()):
        return True
    return any(placeholder in part.get_content() for part in message.walk()
               if part.get_content_maintype() == "text" and not part.is_attachment())


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


def send_issue(request: SendRequest) -> SendReport:
    """Run `pipeline send`; raises PipelineError (exit 1) when an address failed."""
    from pipeline.mailer import Mailer

    message, placeholder = load_issue_message(request.out_dir, request.issue_id)
    if has_placeholder(message, placeholder) and not request.unsubscribe_template:
        raise click.UsageError(f"the issue has an unsubscribe placeholder: pass --unsubscribe-url "
                               f"(or set ${UNSUBSCRIBE_ENV}), e.g. "
                               "https://example.org/unsubscribe?email={email}")
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
            if recipient.key in sent:
                report.already_sent.append(recipient.address)
            elif recipient.key in in_doubt and not request.resend_in_doubt:
                report.in_doubt.append(recipient.address)
            else:
                todo.append(recipient)
        envelope_from = request.envelope_from or parseaddr(str(message["From"]))[1]
        mailer = None if request.dry_run else Mailer(request, envelope_from, ledger)
        pacer = Pacer(request.rate)
        try:
            for recipient in todo:
                url = (unsubscribe_url(request.unsubscribe_template, recipient, request.issue_id)
                       if request.unsubscribe_template else None)
                data = personalize(message, placeholder, recipient, url)
                if mailer is None:
                    click.echo(f"would send {request.issue_id} to {recipient.header}"
                               + (f" (unsubscribe: {url})" if url else ""))
                    continue
                pacer.wait()
                outcome, error = mailer.deliver(recipient, data, extract_message_id(data))
                if outcome == SENT:
                    report.sent.append(recipient.address)
                elif outcome == SENDING:
                    report.in_doubt.append(recipient.address)
                else:
                    report.failed[recipient.address] = error or "refused"
                if request.verbose and not request.quiet:
                    click.echo(f"  {outcome if outcome != SENDING else 'in doubt':9} "
                               f"{recipient.address}" + (f" ({error})" if error else ""))
        finally:
            if mailer is not None:
                mailer.close()
            ledger.close()
    _report(request, report, len(todo), time.perf_counter() - started)
    return report


def extract_message_id(data: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    for line in head.split("\r\n"):
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    return ""


def _report(request: SendRequest, report: SendReport, todo: int, seconds: float) -> None:
    """One summary line; warnings for in-doubt addresses; exit 1 when some failed."""
    if request.dry_run:
        if not request.quiet:
            click.echo(f"dry run: {request.issue_id}: would send {todo}, "
                       f"{len(report.already_sent)} already sent, {len(report.in_doubt)} in "
                       "doubt; nothing was sent")
        return
    if not request.quiet:
        click.echo(f"sent: {request.issue_id}: {len(report.sent)} sent, "
                   f"{len(report.already_sent)} already sent, {len(report.in_doubt)} in doubt, "
                   f"{len(report.failed)} failed in {seconds:.2f}s")
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


def transient(code: int) -> bool:
    """4xx replies are worth retrying (RFC 5321 4.2.1); 5xx are final."""
    return 400 <= code < 500


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def smtp_login_allowed(request: SendRequest) -> bool:
    """Passwords travel only over TLS, or to a relay on this very machine."""
    return request.starttls or request.implicit_tls or request.smtp_host in LOOPBACK

