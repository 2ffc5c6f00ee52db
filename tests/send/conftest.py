"""Fixtures of the send tests: an SMTP server on loopback and a publish root with one issue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from send.sendkit import ISSUE, Mailbox, accept_login, free_port

from pipeline.model import Issue
from pipeline.newsletter.issues import render_issue_files
from pipeline.publish.writer import publish


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(),
                            authenticator=accept_login, auth_require_tls=False)
    controller.start()
    box.address = f"127.0.0.1:{controller.port}"
    yield box
    controller.stop()


@pytest.fixture
def out(tmp_path: Path, settings) -> Path:
    """A publish root holding one issue rendered by the real newsletter stage."""
    issue = Issue(id=ISSUE, title="January", date=dt.date(2025, 1, 31),
                  period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 1, 31))
    artifacts = render_issue_files((), issue, settings, dt.datetime(2025, 1, 31, tzinfo=dt.UTC))
    publish(artifacts, tmp_path / "output", quiet=True)
    return tmp_path / "output"
