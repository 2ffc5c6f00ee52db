"""What `pipeline send` was asked to do: the SMTP server, the recipients, the options.

Credentials come from the environment, never from the command line (which `ps` shows):
PIPELINE_SMTP_USER and PIPELINE_SMTP_PASSWORD (login only when the user is set).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from pathlib import Path

import click

from pipeline.errors import InvalidInput, Problem, display_path

USER_ENV, PASSWORD_ENV = "PIPELINE_SMTP_USER", "PIPELINE_SMTP_PASSWORD"
UNSUBSCRIBE_ENV = "PIPELINE_UNSUBSCRIBE_URL"
SECRET_ENV = "PIPELINE_UNSUBSCRIBE_SECRET"  # HMAC key of {token}
TEMPLATE_FIELDS = ("{email}", "{token}", "{issue}")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
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


def transient(code: int) -> bool:
    """4xx replies are worth retrying (RFC 5321 4.2.1); 5xx are final."""
    return 400 <= code < 500


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def smtp_login_allowed(request: SendRequest) -> bool:
    """Passwords travel only over TLS, or to a relay on this very machine."""
    return request.starttls or request.implicit_tls or request.smtp_host in LOOPBACK

