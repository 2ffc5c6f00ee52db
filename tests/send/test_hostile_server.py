"""`send` against SMTP servers that misbehave: bounded waits, bounded memory, honest outcomes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import PINNED_NOW
from send.sendkit import ISSUE, TEMPLATE, ScriptedServer, answer_until, read_command

from pipeline.errors import PipelineError
from pipeline.publish.lock import hold_lock
from pipeline.send.campaign import send_issue
from pipeline.send.ledger import SendLedger
from pipeline.send.request import SendRequest, read_recipients
from pipeline.send.smtp import MAX_REPLY_LINES


def request(out: Path, port: int, *addresses: str, **options) -> SendRequest:
    return SendRequest(ISSUE, out, read_recipients(addresses, None), "127.0.0.1", port,
                       rate=0, unsubscribe_template=TEMPLATE, ledger_dir=out.parent / "ledger",
                       quiet=True, **{"retries": 0, "timeout": 1.0, **options})


def run_against(script, out: Path, **options) -> tuple[str, float]:
    """The one-line error `send` stops with, and how long it took."""
    server = ScriptedServer(script)
    started = time.monotonic()
    try:
        with pytest.raises(PipelineError) as raised:
            send_issue(request(out, server.port, "ada@example.org", **options),
                       clock=lambda: PINNED_NOW)
    finally:
        server.stop()
    return str(raised.value), time.monotonic() - started


def assert_lock_released(out: Path) -> None:
    with hold_lock(out.parent / "ledger" / f".{ISSUE}.lock", 0, "the test"):
        pass  # taken at once: the failed send let go of it


def trickle_ehlo(conn, number) -> None:
    conn.sendall(b"220 slow ESMTP\r\n")
    read_command(conn)
    while True:  # a continuation line every 50 ms: each read alone is quick
        conn.sendall(b"250-still thinking\r\n")
        time.sleep(0.05)


def test_server_trickling_continuation_lines_stops_send_within_its_timeout(out) -> None:
    message, seconds = run_against(trickle_ehlo, out)
    assert seconds < 5  # was: for ever (150 s measured, then killed), memory growing
    assert "no complete reply from the server within 1s" in message
    assert "\n" not in message and "Traceback" not in message
    assert_lock_released(out)


def trickle_bytes(conn, number) -> None:
    conn.sendall(b"220 slow ESMTP\r\n")
    read_command(conn)
    while True:  # one byte at a time, never ending the line: each recv returns in time
        conn.sendall(b"2")
        time.sleep(0.05)


def test_server_trickling_one_byte_at_a_time_stops_send_within_its_timeout(out) -> None:
    message, seconds = run_against(trickle_bytes, out)
    assert seconds < 5 and "no complete reply from the server within 1s" in message
    assert_lock_released(out)


def flood_ehlo(conn, number) -> None:
    conn.sendall(b"220 loud ESMTP\r\n")
    read_command(conn)
    line = b"250-" + b"X" * 70 + b"\r\n"
    while True:
        conn.sendall(line * 100)


def test_server_flooding_ehlo_lines_stops_send_at_the_reply_limit(out) -> None:
    message, seconds = run_against(flood_ehlo, out, timeout=30.0)
    assert seconds < 5  # stopped by size, long before the 30 s deadline
    assert f"the server's reply ran past {MAX_REPLY_LINES} lines" in message
    assert_lock_released(out)


def test_drop_after_data_before_the_go_ahead_is_retried_not_in_doubt(out) -> None:
    received: list[bytes] = []

    def drop_first_data(conn, number) -> None:
        if not answer_until(conn, b"DATA"):
            return
        if number == 0:
            return  # hang up before 354: the message never left the client
        conn.sendall(b"354 go ahead\r\n")
        data = b""
        while not data.endswith(b"\r\n.\r\n"):
            data += conn.recv(65536)
        received.append(data)
        conn.sendall(b"250 queued\r\n")
        answer_until_quit(conn)

    server = ScriptedServer(drop_first_data)
    try:
        report = send_issue(request(out, server.port, "ada@example.org", retries=1,
                                    backoff=0.01), clock=lambda: PINNED_NOW)
    finally:
        server.stop()
    assert report.sent == ["ada@example.org"] and report.in_doubt == []
    assert len(received) == 1
    assert SendLedger(out.parent / "ledger", ISSUE).read().states == {"ada@example.org": "sent"}


def answer_until_quit(conn) -> None:
    while command := read_command(conn):
        if command.upper().startswith(b"QUIT"):
            conn.sendall(b"221 bye\r\n")
            return
        conn.sendall(b"250 OK\r\n")
