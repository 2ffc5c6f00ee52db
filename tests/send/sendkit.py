"""Shared by the send tests: a real SMTP server (aiosmtpd) on loopback and a published issue."""

from __future__ import annotations

import contextlib
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
        self.mail_from: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.server = server  # hooks may drop the connection: server.transport.close()
        reply = self.on_rcpt(address) if self.on_rcpt else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server = server
        self.mail_from.append(envelope.mail_from)
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




class ScriptedServer:
    """A raw TCP 'SMTP server' on loopback, for what aiosmtpd will not do: misbehave.

    `script(conn, number)` talks to the `number`th connection (from 0) over a plain socket.
    """

    def __init__(self, script) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            number, self.connections = self.connections, self.connections + 1
            threading.Thread(target=self._talk, args=(conn, number), daemon=True).start()

    def _talk(self, conn: socket.socket, number: int) -> None:
        # OSError: the client hung up, which is what these tests provoke.
        with conn, contextlib.suppress(OSError):
            self.script(conn, number)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.listener.close()


def read_command(conn: socket.socket) -> bytes:
    """One command line from the client (b'' when it hung up)."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            return data
        data += chunk
    return data


def answer_until(conn: socket.socket, stop: bytes) -> bool:
    """Greet, then answer EHLO/MAIL/RCPT/RSET like a server until the command `stop`."""
    conn.sendall(b"220 scripted ESMTP\r\n")
    while True:
        command = read_command(conn)
        if not command:
            return False
        verb = command.split(b" ", 1)[0].strip().upper()
        if verb == stop:
            return True
        if verb == b"EHLO":
            conn.sendall(b"250-scripted\r\n250 8BITMIME\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return False
        else:
            conn.sendall(b"250 OK\r\n")
