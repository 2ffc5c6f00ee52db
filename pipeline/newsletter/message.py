"""An issue as a MIME message (.eml) ready for the send step, built with Python's email package."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from email import errors, policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from email.utils import format_datetime, quote

from pipeline.errors import PipelineError
from pipeline.model import Issue
from pipeline.newsletter.content import UNSUBSCRIBE_PLACEHOLDER
from pipeline.sources.settings import Settings

# CRLF line ends and RFC 5322 folding: the bytes an MTA expects, the same on every OS.
# 76, not the SMTP policy's 78: RFC 2045 caps quoted-printable lines at 76 characters and
# the email package encodes bodies at the policy's max_line_length.
EML_POLICY = policy.SMTP.clone(max_line_length=76)
# Reading back what was written: any defect (a bad encoded-word, a stray line) is an error.
STRICT_POLICY = policy.SMTP.clone(raise_on_defect=True)
# The top-level headers of message.eml, and nothing else (docs/newsletter.md lists them).
EML_HEADERS = ("Subject", "From", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
               "List-Unsubscribe-Post", "Content-Type", "MIME-Version")


def message_id(issue: Issue, settings: Settings) -> str:
    """`<newsletter.<issue id>@<uid domain>>`: stable, so a rebuild is the same message."""
    return f"<newsletter.{issue.id}@{settings.uid_host}>"


def issue_datetime(issue: Issue) -> dt.datetime:
    """The instant the Date header stands for: the issue's date, midnight UTC."""
    return dt.datetime.combine(issue.date, dt.time(), dt.UTC)


def build_message(issue: Issue, settings: Settings, html: str, text: str) -> bytes:
    """multipart/alternative (text first, then HTML, as RFC 2046 orders preference), UTF-8."""
    message = EmailMessage(policy=EML_POLICY)
    description = settings.site_name + " newsletter"
    list_id = f"<{settings.list_identifier}>"
    headers = {
        "Subject": issue.email_subject,
        "From": settings.sender,
        "Date": format_datetime(issue_datetime(issue)),
        "Message-ID": message_id(issue, settings),
        # What the List-Id reads as: a non-ASCII description is an encoded-word, unquoted.
        "List-Id": (f"{_phrase(description)} {list_id}" if description.isascii() else
                    f"{description} {list_id}"),
        # The send step replaces the placeholder per recipient (RFC 8058 one-click unsubscribe).
        "List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    for name, value in headers.items():
        if name == "Subject":
            message.set_raw(name, _encoded(name, value))
        elif name == "List-Id":
            message.set_raw(name, _encoded(name, value) if description.isascii() else
                            f"{_encoded(name, description)}\r\n {list_id}")
        else:
            message[name] = value
    # quoted-printable keeps lines under 998 octets (MJML writes long ones) and stays readable.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # The email package picks a random boundary; derive one from the content instead.
    digest = hashlib.sha256((text + html).encode("utf-8")).hexdigest()[:32]
    message.set_boundary(f"=_alternative_{digest}")
    data = message.as_bytes(policy=EML_POLICY)
    check_headers(data, {**headers, "Content-Type": None, "MIME-Version": "1.0"},
                  issue.source or f"issue '{issue.id}'")
    return data


def check_headers(data: bytes, expected: Mapping[str, str | None], what: str,
                  utf8: bool = False) -> EmailMessage:
    """Read the encoded message back: exactly the `expected` headers, each with its value.

    The load-time checks refuse what could become a header; this holds for any future path
    too (a new header, a value from elsewhere): text that the email package would turn into
    an extra header (an encoded-word hiding a line break, say) stops the build or the send.
    `utf8`: a non-ASCII address (`jöe@`, sent under SMTPUTF8) is expected, not a defect.
    """
    allowed = (errors.NonASCIILocalPartDefect,) if utf8 else ()
    try:
        # RFC 6532: under SMTPUTF8 the headers are UTF-8 text, read as such.
        parsed = (Parser(policy=STRICT_POLICY).parsestr(data.decode("utf-8"), headersonly=True)
                  if utf8 else BytesParser(policy=STRICT_POLICY).parsebytes(data, headersonly=True))
        found = [(name, str(value), [d for d in value.defects if not isinstance(d, allowed)])
                 for name, value in parsed.items()]
    except (errors.MessageError, ValueError, TypeError, IndexError, UnicodeError) as error:
        raise PipelineError(f"{what}: the e-mail's headers do not read back ({error}); "
                            "remove encoded-words and control characters from the title, "
                            "subject, site_name and sender") from None
    names = sorted(name.lower() for name, _, _ in found)
    if names != sorted(name.lower() for name in expected):
        extra = sorted(set(names) - {name.lower() for name in expected}) or names
        raise PipelineError(f"{what}: the e-mail would carry unexpected or repeated headers "
                            f"({', '.join(extra)}); remove encoded-words ('=?...?=') and "
                            "control characters from the title, subject, site_name and sender")
    for name, value, defects in found:
        want = next(v for k, v in expected.items() if k.lower() == name.lower())
        if defects or (want is not None and _meaning(name, value) != _meaning(name, want)):
            raise PipelineError(f"{what}: the e-mail's {name} header reads back as {value!r}, "
                                f"not {want!r}; remove encoded-words ('=?...?=') and control "
                                "characters from it")
    return parsed  # type: ignore[return-value]


def _encoded(name: str, text: str) -> str:
    """`text` folded (and RFC 2047-encoded when not ASCII) by email.header, set verbatim.

    The policy's own folder drops the space between two encoded-words where it splits a
    line (a long Korean Subject read back as '한국어한국어'); email.header keeps each space
    inside an encoded-word, and the read-back check below holds it to that.
    """
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset, maxlinelen=76, header_name=name).encode(linesep="\r\n")


def _meaning(name: str, value: str) -> object:
    """What a header says: an address header's (name, address) pairs (`"x" <a@b>` is
    `x <a@b>`), any other header's text as given."""
    if name.lower() not in ("from", "to"):
        return value  # as written: never decoded (an encoded-word must not match its decoding)
    header = STRICT_POLICY.header_factory(name, value)
    return [(a.display_name, a.addr_spec) for a in header.addresses]  # type: ignore[attr-defined]


def _phrase(text: str) -> str:
    """The List-Id's description as an RFC 5322 phrase: quoted when it holds specials."""
    if any(c in text for c in '()<>[]:;@\\,."'):
        return f'"{quote(text)}"'
    return text
