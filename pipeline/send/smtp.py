"""smtplib's client with every server reply bounded in time, lines and bytes, and DATA in two steps."""

from __future__ import annotations

import re
import smtplib
import time

MAX_REPLY_LINES = 100  # a real EHLO reply has ~10; RFC 5321 sets no limit, we must
MAX_REPLY_BYTES = 64 * 1024
MAX_LINE = 8192  # smtplib's own _MAXLINE


class SMTPReplyError(smtplib.SMTPServerDisconnected):
    """The server's reply was too slow or too long: the connection was closed."""


class _BoundedReplies:
    """Mixin over smtplib.SMTP/SMTP_SSL: `getreply` with an overall deadline and size caps.

    smtplib reads a reply line by line, each read with the socket timeout afresh, and keeps
    every line: a server trickling `250-` lines (one byte a second is enough) or flooding
    them kept `send` waiting for ever with growing memory. Here one reply gets `timeout`
    seconds in all, at most MAX_REPLY_LINES lines and MAX_REPLY_BYTES bytes.
    """

    timeout: float
    sock: object
    _pending = b""

    def getreply(self) -> tuple[int, bytes]:
        """Read one (multi-line) reply within the bounds; SMTPReplyError otherwise."""
        deadline = time.monotonic() + self.timeout
        lines: list[bytes] = []
        size = 0
        code = -1
        try:
            while True:
                line = self._read_line(deadline)
                size += len(line)
                if len(lines) >= MAX_REPLY_LINES or size > MAX_REPLY_BYTES:
                    self._fail(f"the server's reply ran past {MAX_REPLY_LINES} lines or "
                               f"{MAX_REPLY_BYTES // 1024} KiB")
                try:
                    code = int(line[:3])
                except ValueError:
                    code = -1
                lines.append(line[4:].strip(b" \t\r\n"))
                if code == -1 or line[3:4] != b"-":
                    break
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)  # type: ignore[attr-defined]
        if getattr(self, "debuglevel", 0) > 0:
            self._print_debug("reply:", code, lines)  # type: ignore[attr-defined]
        return code, b"\n".join(lines)

    def _read_line(self, deadline: float) -> bytes:
        """One CRLF-ended line from the socket, never waiting past `deadline`."""
        while b"\n" not in self._pending:
            if len(self._pending) > MAX_LINE:
                self._fail(f"the server sent a line longer than {MAX_LINE} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.sock is None:
                self._fail(f"no complete reply from the server within {self.timeout:g}s")
            self.sock.settimeout(remaining)  # type: ignore[attr-defined]
            try:
                chunk = self.sock.recv(4096)  # type: ignore[attr-defined]
            except TimeoutError:
                self._fail(f"no complete reply from the server within {self.timeout:g}s")
            if not chunk:
                self.close()  # type: ignore[attr-defined]
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def _fail(self, reason: str) -> None:
        self.close()  # type: ignore[attr-defined]
        raise SMTPReplyError(reason)

    def close(self) -> None:
        self._pending = b""
        super().close()  # type: ignore[misc]

    def starttls(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Anything the server sent before the TLS handshake is discarded (no injection)."""
        reply = super().starttls(*args, **kwargs)  # type: ignore[misc]
        self._pending = b""
        return reply

    def start_data(self) -> tuple[int, bytes]:
        """Send DATA and read the go-ahead: 354 means the message may now be sent."""
        self.putcmd("data")  # type: ignore[attr-defined]
        return self.getreply()

    def finish_data(self, message: bytes) -> tuple[int, bytes]:
        """The message (CRLF lines), dot-stuffed and ended, then the server's verdict."""
        quoted = re.sub(rb"(?m)^\.", b"..", message)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        self.send(quoted + b".\r\n")  # type: ignore[attr-defined]
        return self.getreply()


class BoundedSMTP(_BoundedReplies, smtplib.SMTP):
    """Plain or STARTTLS SMTP with bounded replies."""


class BoundedSMTP_SSL(_BoundedReplies, smtplib.SMTP_SSL):
    """Implicit-TLS SMTP with bounded replies."""
