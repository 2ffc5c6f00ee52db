"""What a send run promises around the delivery: Date, sidecar check, progress, suppressions,
a mailto: unsubscribe."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from send.sendkit import ADDRESSES, ISSUE, TEMPLATE, send_args, to_all

from pipeline.cli import cli
from pipeline.send.campaign import send_issue
from pipeline.send.progress import Progress
from pipeline.send.request import SendRequest, read_recipients


def test_date_header_is_the_moment_of_sending(mailbox, out) -> None:
    moments = iter([dt.datetime(2025, 2, 3, 9, 15, n, tzinfo=dt.UTC) for n in range(60)])
    send_issue(SendRequest(ISSUE, out, read_recipients(tuple(ADDRESSES[:2]), None), "127.0.0.1",
                           int(mailbox.address.split(":")[1]), rate=0, quiet=True,
                           unsubscribe_template=TEMPLATE, ledger_dir=out.parent / "ledger"),
               clock=lambda: next(moments))
    dates = sorted(message["Date"].datetime for message in mailbox.parsed().values())
    # Not the issue's date (2025-01-31 00:00): each copy carries the clock's time it went out.
    assert all(d.date() == dt.date(2025, 2, 3) and d.hour == 9 for d in dates)
    assert dates[0] < dates[1]


@pytest.mark.parametrize("damage", ["missing", "not json", "no checksum"])
def test_eml_without_a_sound_sidecar_is_not_sent(mailbox, out, damage: str) -> None:
    sidecar = out / "newsletter" / ISSUE / "message.json"
    if damage == "missing":
        sidecar.unlink()
    else:
        sidecar.write_text("{\"version\": 1" if damage == "not json" else "{\"version\": 1}")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 1
    assert "message.json is missing or damaged, so" in result.output
    assert "run `pipeline build` again before sending" in result.output
    assert mailbox.messages == []


def test_eml_with_an_extra_header_is_not_sent_even_with_a_matching_sidecar(mailbox, out) -> None:
    import hashlib
    import json

    folder = out / "newsletter" / ISSUE
    eml = folder / "message.eml"
    data = eml.read_bytes().replace(b"\r\nFrom:", b"\r\nBcc: all@evil.example\r\nFrom:", 1)
    eml.write_bytes(data)
    sidecar = json.loads((folder / "message.json").read_text())
    sidecar["eml_sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "message.json").write_text(json.dumps(sidecar))
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--to", ADDRESSES[0]))
    assert result.exit_code == 1 and "unexpected or repeated headers (bcc)" in result.output
    assert mailbox.messages == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_shows_done_total_rate_and_time_left(mailbox, out) -> None:
    screen = Terminal()
    request = SendRequest(ISSUE, out, read_recipients(tuple(ADDRESSES[:3]), None), "127.0.0.1",
                          int(mailbox.address.split(":")[1]), rate=0, quiet=False,
                          unsubscribe_template=TEMPLATE, ledger_dir=out.parent / "ledger",
                          progress_stream=screen)
    send_issue(request, clock=lambda: dt.datetime(2025, 2, 3, tzinfo=dt.UTC))
    shown = screen.getvalue()
    assert shown.startswith("\rsending: ") and shown.endswith("\n")
    assert "sending: 3/3 (100%), " in shown and "/s, 0s left" in shown


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(10, stream, enabled=True)
    for _ in range(10):
        progress.step()
    progress.finish()
    assert stream.getvalue() == ""  # cron mail and CI logs get only the summary


def test_progress_is_throttled_and_estimates_time_left() -> None:
    screen, now = Terminal(), [0.0]
    progress = Progress(100, screen, enabled=True, clock=lambda: now[0], interval=1.0)
    for _ in range(50):
        now[0] += 0.1  # 10 messages a second
        progress.step()
    lines = screen.getvalue().split("\r")[1:]
    assert len(lines) == 5  # one redraw a second, not fifty
    assert re.fullmatch(r"sending: 4\d/100 \(4\d%\), 10\.0/s, [56]s left *", lines[-1])


def test_summary_gives_counts_time_and_rate(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:2])))
    assert result.exit_code == 0
    summary = result.output.splitlines()[-1]
    assert summary.startswith(f"sent: {ISSUE}: 2 sent, 0 already sent, 0 in doubt, 0 failed, "
                              "0 suppressed in ")
    assert summary.endswith("/s)")


def test_suppressed_addresses_are_never_mailed_and_are_reported(mailbox, out,
                                                              monkeypatch) -> None:
    suppressions = out.parent / "gone.txt"
    suppressions.write_text("# unsubscribed\nREADER2@example.org\nreader3@example.org # bounced\n")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--suppress", str(suppressions),
                                               *to_all(ADDRESSES[:4])))
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 already sent, 0 in doubt, 0 failed, 2 suppressed" in result.output
    assert mailbox.received() == Counter([ADDRESSES[0], ADDRESSES[3]])


def test_suppressions_txt_in_the_working_folder_is_honoured_by_default(mailbox, out,
                                                                     monkeypatch) -> None:
    monkeypatch.chdir(out.parent)
    Path("suppressions.txt").write_text(f"{ADDRESSES[1]}\n")
    result = CliRunner().invoke(cli, send_args(mailbox, out, *to_all(ADDRESSES[:2])))
    assert result.exit_code == 0 and "1 suppressed" in result.output
    assert mailbox.received() == Counter([ADDRESSES[0]])


def test_bad_suppression_line_names_file_and_line_and_sends_nothing(mailbox, out) -> None:
    suppressions = out.parent / "gone.txt"
    suppressions.write_text("a@example.org\nnot-an-address\n")
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--suppress", str(suppressions),
                                               "--to", ADDRESSES[0]))
    assert result.exit_code == 1 and "gone.txt:2: 'not-an-address' is not an e-mail address" \
        in result.output
    assert mailbox.messages == []


def without_url(args: list[str]) -> list[str]:
    args = list(args)
    del args[args.index("--unsubscribe-url"):args.index("--unsubscribe-url") + 2]
    return args


def test_mailto_unsubscribe_when_no_url_is_given(mailbox, out, monkeypatch) -> None:
    monkeypatch.delenv("PIPELINE_UNSUBSCRIBE_URL", raising=False)
    args = without_url(send_args(mailbox, out, "--unsubscribe-mailto", "leave@example.org",
                                 "--to", ADDRESSES[0]))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    message = mailbox.parsed()[ADDRESSES[0]]
    mailto = "mailto:leave@example.org?subject=unsubscribe%20reader1@example.org"
    assert message["List-Unsubscribe"] == f"<{mailto}>"
    assert "List-Unsubscribe-Post" not in message  # one-click needs an https URL
    assert f"Unsubscribe: {mailto}" in message.get_body(("plain",)).get_content()


def test_mailto_is_offered_beside_the_url(mailbox, out) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--unsubscribe-mailto",
                                               "leave@example.org", "--to", ADDRESSES[0]))
    assert result.exit_code == 0, result.output
    message = mailbox.parsed()[ADDRESSES[0]]
    assert message["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe?")
    assert message["List-Unsubscribe"].endswith(
        ", <mailto:leave@example.org?subject=unsubscribe%20reader1@example.org>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("address", ["not an address", "Ada <a@example.org>",
                                     "a@example.org?cc=all@example.org"])
def test_unsubscribe_mailto_must_be_a_plain_address(mailbox, out, address: str) -> None:
    result = CliRunner().invoke(cli, send_args(mailbox, out, "--unsubscribe-mailto", address,
                                               "--to", ADDRESSES[0]))
    assert result.exit_code == 2 and "--unsubscribe-mailto" in result.output

