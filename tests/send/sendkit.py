"""Shared by the send tests: a real SMTP server (aiosmtpd) on loopback and a published issue."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote

from aiosmtpd.smtp import AuthResult

ROOT = Path(__file__).resolve().parents[2]
ISSUE = "2025-01"
TEMPLATE = "https://news.example.org/unsubscribe?issue={issue}&email={email}"
ADDRESSES = [f"reader{n}@example.org" for n in range(1, 9)]


def own_url(address: str) -> str:
    return f"https://news.example.org/unsubscribe?issue={ISSUE}&email={quote(address, safe='@')}"


class Mailbox:
    """aiosmtpd handler: keeps every accepted message; hooks can refuse or kill the sender."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.on_rcpt = None  # (address) -> reply string or None
        self.on_data = None  # (count so far, envelope) -> reply string or None
        self.logins: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.server = server  # hooks may drop the connection: server.transport.close()
        reply = self.on_rcpt(address) if self.on_rcpt else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server = server
        with self.lock:
            reply = self.on_data(len(self.messages), envelope) if self.on_data else None
            if reply:
                return reply
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def received(self) -> Counter:
        return Counter(rcpt for rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self) -> dict[str, object]:
        return {rcpts[0]: BytesParser(policy=policy.default).parsebytes(data)
                for rcpts, data in self.messages}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accept_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret"
    if ok:
        server.event_handler.logins.append(auth_data.login.decode())
    return AuthResult(success=ok, handled=False)


def send_args(mailbox: Mailbox, out: Path, *extra: str) -> list[str]:
    return ["send", ISSUE, "--smtp", mailbox.address, "--out", str(out), "--rate", "0",
            "--ledger", str(out.parent / "ledger"), "--unsubscribe-url", TEMPLATE, *extra]


def to_all(addresses=ADDRESSES) -> list[str]:
    return [arg for address in addresses for arg in ("--to", address)]


