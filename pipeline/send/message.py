"""The published issue's message.eml, checked against its sidecar, and one copy per recipient."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import html
import json
import os
from copy import deepcopy
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import quote, urlsplit

import click

from pipeline.errors import PipelineError, display_path
from pipeline.newsletter.message import EML_HEADERS, check_headers
from pipeline.send.request import SECRET_ENV, Recipient

SEND_POLICY = policy.SMTP.clone(max_line_length=998)  # RFC 5322's line limit
# A non-ASCII local part (jöe@) cannot be encoded in 7-bit headers: sent raw, under SMTPUTF8.
SEND_UTF8_POLICY = SEND_POLICY.clone(utf8=True)
PARSE_POLICY = policy.SMTP.clone(max_line_length=76)  # re-encoded parts: RFC 2045 QP lines


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


def mailto_url(address: str, recipient: Recipient) -> str:
    """`mailto:` unsubscribe address (RFC 2369) whose subject names the recipient."""
    return f"mailto:{address}?subject={quote('unsubscribe ' + recipient.address, safe='@')}"


@functools.lru_cache(maxsize=1)
def _parsed(source: bytes) -> EmailMessage:
    return BytesParser(policy=PARSE_POLICY).parsebytes(source)  # type: ignore[return-value]


def personalize(source: bytes, placeholder: str, recipient: Recipient,
                url: str | None, date: dt.datetime, mailto: str | None = None) -> bytes:
    """A copy of the issue (`source`: the loaded .eml's bytes) for one recipient: To, Date
    (the moment of sending), Message-ID, unsubscribe link (https and/or mailto) filled in;
    its headers checked once encoded."""
    copy = deepcopy(_parsed(source))  # parsing 100 KB anew per address cost a third
    # The published .eml was checked at load: these must come through unchanged.
    kept = {name: str(copy[name]) for name in ("Subject", "From", "List-Id")}
    del copy["To"]
    wire = recipient.wire_address
    copy["To"] = recipient.header
    copy.replace_header("Date", format_datetime(date))
    original_id = str(copy.get("Message-ID", "")).strip("<> ")
    left, _, right = original_id.partition("@")
    if left and right:
        # Distinct content, distinct Message-ID; stable per address, so a retried message
        # can be recognised as a duplicate by the receiving side.
        digest = hashlib.sha256(recipient.key.encode()).hexdigest()[:16]
        copy.replace_header("Message-ID", f"<{left}.{digest}@{right}>")
    if url is not None or mailto is not None:
        links = ", ".join(f"<{u}>" for u in (url, mailto) if u is not None)
        if "List-Unsubscribe" in copy:
            copy.replace_header("List-Unsubscribe", str(copy["List-Unsubscribe"]).replace(
                f"<{placeholder}>", links))
        if url is None or not url.startswith("https:"):
            del copy["List-Unsubscribe-Post"]  # RFC 8058 one-click needs an https URI
        url = url or mailto  # the link in the text and HTML: the web page, else the mailto
        assert url is not None
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
    data = copy.as_bytes(policy=SEND_POLICY if wire.isascii() else SEND_UTF8_POLICY)
    expected: dict[str, str | None] = dict.fromkeys(copy.keys())
    expected.update(kept)
    sent = check_headers(data, expected, f"the message to {recipient.address}",
                         utf8=not wire.isascii())
    if [a.addr_spec for a in sent["To"].addresses] != [wire]:
        raise PipelineError(f"the To header of the message to {recipient.address} names "
                            "other addresses; fix that line of the list")
    return data


def load_issue_message(out_dir: Path, issue_id: str) -> tuple[EmailMessage, str]:
    """The published message.eml and the placeholder its sidecar names."""
    from pipeline.newsletter.content import UNSUBSCRIBE_PLACEHOLDER

    folder = out_dir / "newsletter" / issue_id
    eml = folder / "message.eml"
    try:
        data = eml.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{display_path(eml)} does not exist; run `pipeline build` first "
                            f"(is '{issue_id}' the issue's id, and --out the publish root?)") from None
    placeholder = UNSUBSCRIBE_PLACEHOLDER
    sidecar_path = folder / "message.json"
    try:
        sidecar = json.loads(sidecar_path.read_bytes())
    except (OSError, ValueError):
        sidecar = None
    expected = sidecar.get("eml_sha256") if isinstance(sidecar, dict) else None
    if not isinstance(expected, str):
        # The checksum is what says the .eml is the one the build wrote and checked.
        raise PipelineError(f"{display_path(sidecar_path)} is missing or damaged, so "
                            f"{display_path(eml)} cannot be verified; run `pipeline build` "
                            "again before sending")
    if expected != hashlib.sha256(data).hexdigest():
        # Published files are each whole, but these two come from different builds
        # (an interrupted publish, or a hand edit): do not mail something half-updated.
        raise PipelineError(f"{display_path(eml)} does not match the eml_sha256 of its "
                            "message.json; run `pipeline build` again before sending")
    placeholders = sidecar.get("placeholders")
    if isinstance(placeholders, dict) and isinstance(placeholders.get("unsubscribe_url"), str):
        placeholder = placeholders["unsubscribe_url"]
    check_headers(data, dict.fromkeys(EML_HEADERS), display_path(eml))
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


def extract_message_id(data: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    for line in head.split("\r\n"):
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    return ""


