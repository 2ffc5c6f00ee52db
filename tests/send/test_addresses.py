"""Addresses as people write them: non-ASCII and IDN delivered or failed alone, lists checked."""

from __future__ import annotations

from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from send.sendkit import ISSUE, TEMPLATE, Mailbox, free_port, send_args, to_all

from pipeline.cli import cli
from pipeline.send.request import parse_address


def start_mailbox(smtputf8: bool):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=smtputf8)
    controller.start()
    box.address = f"127.0.0.1:{controller.port}"
    return box, controller


@pytest.fixture
def utf8_mailbox():
    """An SMTP server that offers SMTPUTF8 (RFC 6531)."""
    box, controller = start_mailbox(True)
    yield box
    controller.stop()


@pytest.fixture
def ascii_mailbox():
    """An SMTP server without SMTPUTF8."""
    box, controller = start_mailbox(False)
    yield box
    controller.stop()


def test_non_ascii_address_is_delivered_with_smtputf8(utf8_mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(utf8_mailbox, out,
                                               *to_all(["jöe@example.org", "ada@example.org"])))
    assert result.exit_code == 0, result.output
    assert utf8_mailbox.received() == Counter(["jöe@example.org", "ada@example.org"])
    message = utf8_mailbox.parsed()["jöe@example.org"]
    assert message["To"] == "jöe@example.org"


def test_non_ascii_address_fails_alone_when_the_server_lacks_smtputf8(ascii_mailbox,
                                                                      out) -> None:
    mailbox = ascii_mailbox
    addresses = ["ada@example.org", "jöe@example.org", "bob@example.org"]
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(addresses)))
    assert result.exit_code == 1
    assert ("Traceback" not in result.output and result.exception is None) or \
        isinstance(result.exception, SystemExit)
    assert "jöe@example.org: 127.0.0.1 does not offer SMTPUTF8" in result.output
    assert mailbox.received() == Counter(["ada@example.org", "bob@example.org"])  # not blocked
    again = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(addresses)))
    assert "0 sent, 2 already sent" in again.output  # the rest went; joe is retried, alone


def test_idn_domain_is_sent_in_its_ascii_form_without_smtputf8(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", "Ada <ada@bücher.example>"))
    assert result.exit_code == 0, result.output
    assert mailbox.received() == Counter(["ada@xn--bcher-kva.example"])
    assert mailbox.parsed()["ada@xn--bcher-kva.example"]["To"] == "Ada <ada@xn--bcher-kva.example>"


@pytest.mark.parametrize("line", ["ada\x00@example.org", "ada@exa\x7fmple.org",
                                  "ada@example.org\x85", "Ada\x1b <ada@example.org>",
                                  "=?utf-8?q?=0D=0ABcc:_x@evil.example?= <ada@example.org>"])
def test_control_character_in_a_list_line_is_refused_with_file_and_line(mailbox, out,
                                                                        line: str) -> None:
    list_file = out.parent / "list.txt"
    list_file.write_text(f"bob@example.org\n{line}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--list", str(list_file)))
    assert result.exit_code == 1
    assert "list.txt:2: " in result.output and "control character or an encoded-word" in \
        result.output
    assert mailbox.messages == []  # nothing sent: NUL used to go out in RCPT TO


@pytest.mark.parametrize("separator", ["\r", "\v", "\u2028", "\x0c", "\x1c"])
def test_list_line_numbers_are_the_ones_an_editor_shows(mailbox, out, separator: str) -> None:
    list_file = out.parent / "list.txt"
    list_file.write_bytes(f"a@example.org\nb@example.org{separator}x\nc@example.org\nbad\n"
                          .encode())
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--list", str(list_file)))
    assert result.exit_code == 1
    assert "list.txt:2: " in result.output  # the odd character, on its own line
    assert "list.txt:4: 'bad' is not an e-mail address" in result.output


def test_crlf_list_reads_like_an_lf_list(mailbox, out) -> None:
    list_file = out.parent / "list.txt"
    list_file.write_bytes(b"# readers\r\na@example.org\r\nB <b@example.org>  # friend\r\n")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--list", str(list_file)))
    assert result.exit_code == 0, result.output
    assert mailbox.received() == Counter(["a@example.org", "b@example.org"])


def test_nul_in_a_to_option_is_a_usage_error(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", "a\x00@example.org"))
    assert result.exit_code == 2 and "control character" in result.output
    assert parse_address("a\x00@example.org") is None
    assert ISSUE and TEMPLATE  # the shared request


@pytest.mark.parametrize("address", ["bounces@example.org\r\nRCPT TO:<x@evil.example>",
                                     "b\x00@example.org", "Bounces <b@example.org>", "nope"])
def test_envelope_from_must_be_one_plain_address(mailbox, out, address: str) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--envelope-from", address,
                                               "--to", "ada@example.org"))
    assert result.exit_code == 2 and "--envelope-from" in result.output
    assert mailbox.messages == []


def test_envelope_from_is_used_for_mail_from(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--envelope-from",
                                               "bounces@example.org", "--to", "ada@example.org"))
    assert result.exit_code == 0, result.output
    assert mailbox.mail_from == ["bounces@example.org"]
