"""The send step against a real SMTP server (aiosmtpd) on loopback: once per address, ever."""

from __future__ import annotations

import html
import os
import re
import signal
import ssl
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from conftest import PINNED_NOW, require_executable
from send.sendkit import (
    ADDRESSES,
    ISSUE,
    TEMPLATE,
    Mailbox,
    accept_login,
    free_port,
    own_url,
    send_args,
    to_all,
)

from pipeline.cli import cli
from pipeline.newsletter.content import UNSUBSCRIBE_PLACEHOLDER
from pipeline.publish.lock import hold_lock
from pipeline.send.campaign import Pacer, send_issue
from pipeline.send.ledger import SendLedger
from pipeline.send.request import SendRequest, parse_address, read_recipients, smtp_login_allowed

ROOT = Path(__file__).resolve().parents[2]


def test_every_recipient_gets_one_message_with_own_unsubscribe_url(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all()))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"sent: {ISSUE}: 8 sent, 0 already sent, 0 in doubt, 0 failed")
    assert mailbox.received() == Counter(ADDRESSES)
    message_ids = set()
    raw = {rcpts[0]: data for rcpts, data in mailbox.messages}
    for address, message in mailbox.parsed().items():
        url = own_url(address)
        # Verbatim in the header (never an RFC 2047 encoded-word), QP lines within 76.
        assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw[address]
        body = raw[address].split(b"\r\n\r\n", 1)[1]
        assert max(len(line) for line in body.split(b"\r\n")) <= 76
        assert message["To"] == address
        assert message["List-Unsubscribe"] == f"<{url}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(("plain",)).get_content()
        page = message.get_body(("html",)).get_content()
        assert f"Unsubscribe: {url}" in text
        assert f'href="{html.escape(url)}"' in page
        whole = message.as_string()
        assert UNSUBSCRIBE_PLACEHOLDER not in whole and "UNSUBSCRIBE_URL" not in whole
        others = [a for a in ADDRESSES if a != address]
        assert not any(quote(a, safe="@") in whole or a in whole for a in others)
        message_ids.add(message["Message-ID"])
    assert len(message_ids) == len(ADDRESSES)


def test_rerun_mails_nobody_twice_and_new_addresses_once(mailbox, out) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:5]))).exit_code == 0
    result = runner.invoke(cli, send_args(mailbox, out, *to_all([a.upper() for a in ADDRESSES])))
    assert result.exit_code == 0, result.output
    assert "3 sent, 5 already sent" in result.output
    assert mailbox.received() == Counter(a.upper() if a not in ADDRESSES[:5] else a
                                         for a in ADDRESSES)


def run_send(mailbox: Mailbox, out: Path, list_file: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "pipeline",
                             *send_args(mailbox, out, "--list", str(list_file))],
                            cwd=out.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill_at", ["data", "rcpt"])
def test_killed_midway_then_rerun_mails_everyone_exactly_once(mailbox, out, kill_at) -> None:
    """kill -9 while the server holds message 3 (the worst moment) or before the next one."""
    list_file = out.parent / "subscribers.txt"
    list_file.write_text("# readers\n" + "\n".join(ADDRESSES) + "\n")
    victim: dict[str, int] = {}

    def kill_during_data(count, envelope):
        if count == 2 and "pid" in victim:  # the third message: kept, then the sender dies
            mailbox.messages.append((list(envelope.rcpt_tos), envelope.original_content))
            os.kill(victim.pop("pid"), signal.SIGKILL)
            return "451 sender is gone"  # nobody reads this: the client was killed first
        return None

    def kill_before_rcpt(address):
        if len(mailbox.messages) == 3 and "pid" in victim:
            os.kill(victim.pop("pid"), signal.SIGKILL)
            return "451 sender is gone"
        return None

    if kill_at == "data":
        mailbox.on_data = kill_during_data
    else:
        mailbox.on_rcpt = kill_before_rcpt
    first = run_send(mailbox, out, list_file)
    victim["pid"] = first.pid
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL, stderr
    assert len(mailbox.messages) == 3
    mailbox.on_data = mailbox.on_rcpt = None

    second = run_send(mailbox, out, list_file)
    stdout, stderr = second.communicate(timeout=60)
    assert second.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert mailbox.received() == Counter(ADDRESSES)  # exactly one each
    third = run_send(mailbox, out, list_file)
    stdout3, _ = third.communicate(timeout=60)
    assert third.returncode == 0 and mailbox.received() == Counter(ADDRESSES)
    if kill_at == "data":
        # The third address was handed over but never confirmed: reported, not mailed again.
        assert ADDRESSES[2] in stderr and "in doubt" in stderr
        assert "5 sent, 2 already sent, 1 in doubt" in stdout
    else:
        assert "5 sent, 3 already sent, 0 in doubt" in stdout
    assert "0 sent" in stdout3


def test_dry_run_sends_nothing_and_shows_each_recipient(mailbox, out) -> None:
    result = CliRunner().invoke(cli, ["send", ISSUE, "--dry-run", "--out", str(out),
                                      "--ledger", str(out.parent / "ledger"),
                                      "--unsubscribe-url", TEMPLATE, *to_all(ADDRESSES[:2])])
    assert result.exit_code == 0, result.output
    assert mailbox.messages == []
    assert not (out.parent / "ledger").exists()
    for address in ADDRESSES[:2]:
        assert f"would send {ISSUE} to {address} (unsubscribe: {own_url(address)})" in result.output
    assert "nothing was sent" in result.output


def test_transient_refusals_are_retried_and_delivered_once(mailbox, out) -> None:
    refusals = Counter()

    def busy_twice(count, envelope):
        address = envelope.rcpt_tos[0]
        if refusals[address] < 2:
            refusals[address] += 1
            return "451 4.3.0 try again later"
        return None

    mailbox.on_data = busy_twice
    recipients = read_recipients(tuple(ADDRESSES[:2]), None)
    report = send_issue(SendRequest(ISSUE, out, recipients, "127.0.0.1",
                                    int(mailbox.address.split(":")[1]), rate=0, retries=2,
                                    backoff=0.01, unsubscribe_template=TEMPLATE,
                                    ledger_dir=out.parent / "ledger", quiet=True), clock=lambda: PINNED_NOW)
    assert report.sent == ADDRESSES[:2] and not report.failed
    assert mailbox.received() == Counter(ADDRESSES[:2])


def test_connection_dropped_before_the_data_is_retried(mailbox, out) -> None:
    drops = []

    def drop_once(address):
        if not drops:
            drops.append(address)
            mailbox.server.transport.close()
            return "421 closing"  # never arrives: the connection is gone
        return None

    mailbox.on_rcpt = drop_once
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:3])))
    assert result.exit_code == 0, result.output
    assert drops == [ADDRESSES[0]]
    assert mailbox.received() == Counter(ADDRESSES[:3])


def test_connection_dropped_during_data_is_in_doubt_until_resend_is_asked(mailbox, out) -> None:
    def drop_during_data(count, envelope):
        if envelope.rcpt_tos == [ADDRESSES[1]]:
            mailbox.server.transport.close()  # did the server keep it? the sender cannot know
            return "451 lost"
        return None

    mailbox.on_data = drop_during_data
    runner = CliRunner()
    result = runner.invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:3])))
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 already sent, 1 in doubt, 0 failed" in result.output
    assert "in doubt (the message was handed over" in result.output
    assert ADDRESSES[1] in result.output.split("in doubt (")[1]
    mailbox.on_data = None
    again = runner.invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:3])))
    assert "0 sent, 2 already sent, 1 in doubt" in again.output
    assert mailbox.received() == Counter([ADDRESSES[0], ADDRESSES[2]])  # not mailed blindly
    forced = runner.invoke(cli, send_args(mailbox, out, "--resend-in-doubt",
                                          *to_all(ADDRESSES[:3])))
    assert forced.exit_code == 0 and "1 sent, 2 already sent, 0 in doubt" in forced.output
    assert mailbox.received() == Counter(ADDRESSES[:3])


def test_permanent_refusal_fails_that_address_only(mailbox, out) -> None:
    mailbox.on_rcpt = lambda address: "550 5.1.1 no such user" if address == ADDRESSES[1] else None
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:3])))
    assert result.exit_code == 1
    assert f"1 not sent ({ADDRESSES[1]}: 550 5.1.1 no such user)" in result.output
    assert mailbox.received() == Counter([ADDRESSES[0], ADDRESSES[2]])
    mailbox.on_rcpt = None  # the address was fixed on the server side: a re-run delivers it
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:3])))
    assert result.exit_code == 0, result.output
    assert mailbox.received() == Counter(ADDRESSES[:3])


def test_credentials_come_from_the_environment(mailbox, out, monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_SMTP_USER", "mailer")
    monkeypatch.setenv("PIPELINE_SMTP_PASSWORD", "s3cret")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 0, result.output
    assert mailbox.logins == ["mailer"]
    monkeypatch.setenv("PIPELINE_SMTP_PASSWORD", "wrong")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[1]))
    assert result.exit_code == 1
    assert "refused the login of $PIPELINE_SMTP_USER" in result.output
    assert "Traceback" not in result.output


def test_second_send_of_the_same_issue_waits_then_exits_75(mailbox, out, monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_LOCK_TIMEOUT", "0.2")
    with hold_lock(out.parent / "ledger" / f".{ISSUE}.lock", 0, "test"):
        result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 75
    assert f"another send of '{ISSUE}'" in result.output
    assert mailbox.messages == []


def test_bad_line_in_list_names_file_and_line_and_sends_nothing(mailbox, out) -> None:
    list_file = out.parent / "list.txt"
    list_file.write_text("ada@example.org\nnot an address\n")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--list", str(list_file)))
    assert result.exit_code == 1
    assert "list.txt:2: 'not an address' is not an e-mail address" in result.output
    assert result.output.endswith("1 problem found; nothing was sent.\n")  # not "published"
    assert mailbox.messages == []


def test_unsubscribe_url_is_required_when_the_issue_has_the_placeholder(mailbox, out,
                                                                         monkeypatch) -> None:
    monkeypatch.delenv("PIPELINE_UNSUBSCRIBE_URL", raising=False)
    args = [a for a in send_args(mailbox, out, "--to", ADDRESSES[0]) if a != TEMPLATE]
    args.remove("--unsubscribe-url")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--unsubscribe-url" in result.output
    assert mailbox.messages == []


def test_missing_issue_is_a_clear_error(mailbox, out) -> None:
    result = CliRunner().invoke(cli, ["send", "1999-12", "--smtp", mailbox.address, "--out",
                                      str(out), "--to", ADDRESSES[0]])
    assert result.exit_code == 1
    assert "newsletter/1999-12/message.eml does not exist; run `pipeline build` first" in \
        result.output


def test_ledger_ignores_a_line_torn_by_a_crash(tmp_path: Path) -> None:
    ledger = SendLedger(tmp_path, ISSUE)
    ledger.record("a@example.org", "sending", "<m>", "t")
    ledger.record("a@example.org", "sent", "<m>", "t")
    ledger.close()
    with ledger.path.open("ab") as handle:
        handle.write(b'{"address": "b@example.org", "sta')  # killed mid-write
    assert ledger.read().states == {"a@example.org": "sent"}
    ledger.record("b@example.org", "sending", "<m>", "t")
    ledger.close()
    assert ledger.read().states == {"a@example.org": "sent", "b@example.org": "sending"}


def test_pacer_spaces_messages_at_the_rate() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(4.0, sleep=sleep, clock=lambda: clock[0])
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25] * 4 and clock[0] == 101.0


@pytest.mark.parametrize("text", ["no-at-sign", "a@b", "a@example.org, b@example.org",
                                  "a@exa mple.org", "x@example.org\nBcc: y@example.org"])
def test_parse_address_refuses_anything_but_one_address(text: str) -> None:
    assert parse_address(text) is None


def test_parse_address_keeps_display_name() -> None:
    recipient = parse_address("Ada Lovelace <Ada@Example.org>")
    assert recipient is not None
    assert (recipient.address, recipient.key) == ("Ada@Example.org", "ada@example.org")
    assert recipient.header == "Ada Lovelace <Ada@Example.org>"


def test_send_options_in_the_deployment_guide_exist() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    usage = guide.split("pipeline send ISSUE", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r"--[a-z-]+", usage))
    options = {opt for param in cli.commands["send"].params for opt in param.opts}
    assert documented and documented <= options, documented - options


@pytest.fixture
def tls_mailbox(tmp_path: Path, monkeypatch):
    """An SMTP server on loopback that requires STARTTLS before mail and login."""
    openssl = require_executable("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this test's own CA
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=accept_login,
                            auth_require_tls=True)
    controller.start()
    box.address = f"localhost:{controller.port}"
    yield box
    controller.stop()


def test_starttls_with_login_over_the_encrypted_connection(tls_mailbox, out, monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_SMTP_USER", "mailer")
    monkeypatch.setenv("PIPELINE_SMTP_PASSWORD", "s3cret")
    result = CliRunner().invoke(cli, send_args(tls_mailbox, out, "--starttls", "--to",
                                               ADDRESSES[0]))
    assert result.exit_code == 0, result.output
    assert tls_mailbox.logins == ["mailer"]
    assert tls_mailbox.received() == Counter([ADDRESSES[0]])


def test_server_that_requires_tls_stops_a_plain_run_cleanly(tls_mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(tls_mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 1
    assert "refused to take mail" in result.output and "STARTTLS" in result.output
    assert "Traceback" not in result.output and tls_mailbox.messages == []


def test_password_only_over_tls_or_to_this_machine() -> None:
    plain = SendRequest(ISSUE, Path("output"), [], smtp_host="smtp.example.org")
    assert not smtp_login_allowed(plain)
    assert smtp_login_allowed(SendRequest(ISSUE, Path("o"), [], smtp_host="smtp.example.org",
                                          starttls=True))
    assert smtp_login_allowed(SendRequest(ISSUE, Path("o"), [], smtp_host="127.0.0.1"))


@pytest.mark.parametrize(("template", "complaint"), [
    ("https://example.org/unsubscribe", "must contain {email} or {token}"),
    ("javascript:alert(1)//{email}", "must start with https:, http: or mailto:"),
    ("https://example.org/u?e={email}\r\nBcc: all@example.org", "spaces or control"),
    ("https://example.org/u?t={token}", "PIPELINE_UNSUBSCRIBE_SECRET"),
])
def test_unsafe_or_useless_unsubscribe_templates_are_refused(mailbox, out, monkeypatch,
                                                             template, complaint) -> None:
    monkeypatch.delenv("PIPELINE_UNSUBSCRIBE_SECRET", raising=False)
    args = send_args(mailbox, out, "--to", ADDRESSES[0])
    args[args.index(TEMPLATE)] = template
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and complaint in result.output
    assert mailbox.messages == []


def test_token_is_an_hmac_of_the_address(mailbox, out, monkeypatch) -> None:
    import hashlib
    import hmac

    monkeypatch.setenv("PIPELINE_UNSUBSCRIBE_SECRET", "k3y")
    args = send_args(mailbox, out, "--to", "Reader@Example.org")
    args[args.index(TEMPLATE)] = "https://news.example.org/u?t={token}"
    assert CliRunner().invoke(cli, args).exit_code == 0
    token = hmac.new(b"k3y", b"reader@example.org", hashlib.sha256).hexdigest()[:32]
    message = mailbox.parsed()["Reader@Example.org"]
    assert message["List-Unsubscribe"] == f"<https://news.example.org/u?t={token}>"


def test_issue_must_be_an_id_not_a_path(mailbox, out) -> None:
    result = CliRunner().invoke(cli, ["send", "../../etc", "--dry-run", "--out", str(out),
                                      "--to", ADDRESSES[0]])
    assert result.exit_code == 2 and "is not an issue id" in result.output


def test_eml_and_sidecar_from_different_builds_are_not_sent(mailbox, out) -> None:
    eml = out / "newsletter" / ISSUE / "message.eml"
    eml.write_bytes(eml.read_bytes().replace(b"Subject: January", b"Subject: Januar"))
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 1
    assert "does not match the eml_sha256 of its message.json" in result.output
    assert mailbox.messages == []


def test_send_finds_the_issue_and_keeps_its_ledger_in_the_site_folder(mailbox, out,
                                                                      monkeypatch) -> None:
    # Issue 12: a site is a folder; `send --site` needs no `cd` and no --out or --ledger.
    monkeypatch.chdir(out.parent.parent)
    monkeypatch.delenv("PIPELINE_SEND_LEDGER", raising=False)
    result = CliRunner().invoke(cli, ["send", ISSUE, "--smtp", mailbox.address, "--rate", "0",
                                      "--site", out.parent.name, "--unsubscribe-url", TEMPLATE,
                                      *to_all(ADDRESSES[:1])])
    assert result.exit_code == 0, result.output
    assert len(mailbox.messages) == 1
    assert (out.parent / ".send-ledger" / f"{ISSUE}.jsonl").is_file()
    assert not (out.parent.parent / ".send-ledger").exists()
