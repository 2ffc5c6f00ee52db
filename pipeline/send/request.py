"""What `pipeline send` was asked to do: the SMTP server, the recipients, the options.

Credentials come from the environment, never from the command line (which `ps` shows):
PIPELINE_SMTP_USER and PIPELINE_SMTP_PASSWORD (login only when the user is set).
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import TextIO

import click

from pipeline.errors import InvalidInput, Problem, display_path

USER_ENV, PASSWORD_ENV = "PIPELINE_SMTP_USER", "PIPELINE_SMTP_PASSWORD"
UNSUBSCRIBE_ENV = "PIPELINE_UNSUBSCRIBE_URL"
SECRET_ENV = "PIPELINE_UNSUBSCRIBE_SECRET"  # HMAC key of {token}
TEMPLATE_FIELDS = ("{email}", "{token}", "{issue}")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
DEFAULT_SUPPRESSIONS = Path("suppressions.txt")  # honoured when present, --suppress or not
NOTHING_SENT = "nothing was sent"  # how a problem of the recipients or request ends
# In an address line: C0 and C1 controls, DEL, Unicode line/paragraph separators (a NUL
# went out in RCPT TO), and RFC 2047 encoded-words (decoded into new headers in To:).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]|=\\?[^?\\s]*\\?[bq]\\?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber: the address (the ledger's key, lower-cased) and the To header."""

    address: str
    header: str

    @property
    def key(self) -> str:
        return self.address.lower()

    @property
    def wire_address(self) -> str:
        """The address for RCPT TO and To: an internationalised domain in its ASCII (IDNA)
        form, so only a non-ASCII local part (`jöe@`) needs the server's SMTPUTF8."""
        local, _, domain = self.address.rpartition("@")
        return f"{local}@{_ascii_domain(domain) or domain}"


def _ascii_domain(domain: str) -> str | None:
    """`bücher.example` as `xn--bcher-kva.example`; None when it is no valid domain name."""
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


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
    suppress_file: Path | None = None  # addresses never mailed (unsubscribed, bounced)
    unsubscribe_mailto: str | None = None  # mailto: List-Unsubscribe address
    progress_stream: TextIO | None = None  # default: stderr (the line shows on a terminal)


@dataclass(slots=True)
class SendReport:
    """What one run did, by address."""

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)  # from this run or an earlier one
    failed: dict[str, str] = field(default_factory=dict)
    suppressed: list[str] = field(default_factory=list)


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
    return None if address_problem(text) else _recipient(text)


def address_problem(text: str) -> str | None:
    """Why `text` is not one usable address, or None."""
    if UNSAFE.search(text):
        return "contains a control character or an encoded-word ('=?...?=')"
    if _recipient(text) is None:
        return "is not an e-mail address"
    return None


def _recipient(text: str) -> Recipient | None:
    if "," in text.split("<")[-1]:
        return None
    text = text.strip()
    name, address = parseaddr(text)
    # parseaddr forgives a lot (it drops spaces, takes the first of two): insist on exactly it.
    written = text[text.rfind("<") + 1:text.rfind(">")] if text.endswith(">") else text
    if written != address:
        return None
    local, _, domain = address.rpartition("@")
    if (not local or not domain or any(c.isspace() for c in address) or "." not in domain
            or _ascii_domain(domain) is None):
        return None
    wire = f"{local}@{_ascii_domain(domain)}"
    # headerregistry, not formataddr: it takes a non-ASCII local part (sent under SMTPUTF8).
    header = str(Address(display_name=name, username=local, domain=wire.rpartition("@")[2]))
    return Recipient(address, header if name else wire)


def read_address_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each address line: `#` comments and blank lines skipped.

    Lines end at LF (or CRLF) only: a stray CR, vertical tab or U+2028 stays inside its line
    (and is refused there), so line numbers are the ones an editor shows.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput([Problem(display_path(path), 0, f"cannot read: {error}")],
                           NOTHING_SENT) from None
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        content = "" if line.lstrip().startswith("#") else line.split("#", 1)[0]
        if content.strip(" \t"):
            lines.append((number, content.strip(" \t")))
    return lines


def read_recipients(to: tuple[str, ...], list_file: Path | None) -> list[Recipient]:
    """--to addresses, then --list lines (`#` comments, blanks skipped), deduplicated."""
    recipients: list[Recipient] = []
    for text in to:
        problem = address_problem(text)
        if problem:
            raise click.BadParameter(f"{text!r} {problem}", param_hint="--to")
        recipients.append(_recipient(text))  # type: ignore[arg-type]
    if list_file is not None:
        recipients += _read_list(list_file, "one address per line, e.g. ada@example.org or "
                                 "Ada <ada@example.org>")
    unique = {}
    for recipient in recipients:
        unique.setdefault(recipient.key, recipient)
    return list(unique.values())


def read_suppressions(path: Path) -> set[str]:
    """The suppression file's addresses (lower-cased keys): people who left or bounced."""
    return {r.key for r in _read_list(path, "one address per line, e.g. ada@example.org")}


def _read_list(path: Path, fix: str) -> list[Recipient]:
    """Every address of a list file; all bad lines reported at once with file:line."""
    recipients, problems = [], []
    for number, text in read_address_lines(path):
        problem = address_problem(text)
        if problem:
            problems.append(Problem(display_path(path), number,
                                    f"{text!r} {problem}; write {fix}"))
        else:
            recipients.append(_recipient(text))
    if problems:
        raise InvalidInput(problems, NOTHING_SENT)
    return recipients  # type: ignore[return-value]


def check_envelope_from(address: str) -> str:
    """--envelope-from: one bare address (it goes into MAIL FROM as written)."""
    recipient = parse_address(address)
    if recipient is None or recipient.header != recipient.wire_address:
        raise click.BadParameter(f"{address!r} is not a plain e-mail address, e.g. "
                                 "bounces@example.org", param_hint="--envelope-from")
    return recipient.wire_address


def check_mailto(address: str) -> str:
    """--unsubscribe-mailto: one bare ASCII address (it goes into a mailto: URL)."""
    recipient = parse_address(address)
    if recipient is None or recipient.header != address or not address.isascii() \
            or any(c in address for c in "?&%<>"):
        raise click.BadParameter(f"{address!r} is not a plain e-mail address, e.g. "
                                 "unsubscribe@example.org", param_hint="--unsubscribe-mailto")
    return address


def transient(code: int) -> bool:
    """4xx replies are worth retrying (RFC 5321 4.2.1); 5xx are final."""
    return 400 <= code < 500


def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def smtp_login_allowed(request: SendRequest) -> bool:
    """Passwords travel only over TLS, or to a relay on this very machine."""
    return request.starttls or request.implicit_tls or request.smtp_host in LOOPBACK

