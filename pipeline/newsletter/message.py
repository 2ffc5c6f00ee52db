"""An issue as a MIME message (.eml) ready for the send step, built with Python's email package."""

from __future__ import annotations

import datetime as dt
import hashlib
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, quote

from pipeline.model import Issue
from pipeline.newsletter.content import UNSUBSCRIBE_PLACEHOLDER
from pipeline.sources.settings import Settings

# CRLF line ends and RFC 5322 folding: the bytes an MTA expects, the same on every OS.
# 76, not the SMTP policy's 78: RFC 2045 caps quoted-printable lines at 76 characters and
# the email package encodes bodies at the policy's max_line_length.
EML_POLICY = policy.SMTP.clone(max_line_length=76)


def message_id(issue: Issue, settings: Settings) -> str:
    """`<newsletter.<issue id>@<uid domain>>`: stable, so a rebuild is the same message."""
    return f"<newsletter.{issue.id}@{settings.uid_host}>"


def issue_datetime(issue: Issue) -> dt.datetime:
    """The instant the Date header stands for: the issue's date, midnight UTC."""
    return dt.datetime.combine(issue.date, dt.time(), dt.UTC)


def build_message(issue: Issue, settings: Settings, html: str, text: str) -> bytes:
    """multipart/alternative (text first, then HTML, as RFC 2046 orders preference), UTF-8."""
    message = EmailMessage(policy=EML_POLICY)
    message["Subject"] = issue.email_subject
    message["From"] = settings.sender
    message["Date"] = format_datetime(issue_datetime(issue))
    message["Message-ID"] = message_id(issue, settings)
    message["List-Id"] = f"{_phrase(settings.site_name + ' newsletter')} <{settings.list_identifier}>"
    # The send step replaces the placeholder per recipient (RFC 8058 one-click unsubscribe).
    message["List-Unsubscribe"] = f"<{UNSUBSCRIBE_PLACEHOLDER}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # quoted-printable keeps lines under 998 octets (MJML writes long ones) and stays readable.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # The email package picks a random boundary; derive one from the content instead.
    digest = hashlib.sha256((text + html).encode("utf-8")).hexdigest()[:32]
    message.set_boundary(f"=_alternative_{digest}")
    return message.as_bytes(policy=EML_POLICY)


def _phrase(text: str) -> str:
    """The List-Id's description as an RFC 5322 phrase: quoted when it holds specials."""
    if any(c in text for c in '()<>[]:;@\\,."'):
        return f'"{quote(text)}"'
    return text
