"""The send ledger: which addresses an issue was mailed to, kept so no one gets it twice.

One JSON-lines file per issue, `<ledger dir>/<issue>.jsonl`, appended and fsynced line by
line. Each line is `{"address", "state", "message_id", "at"[, "error"]}`; an address's last
line wins:

- `sending`: written after the server accepted the recipient (RCPT TO) and gave the
  go-ahead (354) to DATA, just before the message data goes out. If no `sent`/`failed`
  line follows, the run stopped in the window where the server may or may not have
  accepted the message: the address is *in doubt*.
- `sent`: the server answered 250 to the message data.
- `failed`: the server refused; not delivered. (A connection that broke before the 354 is
  retried in the same run and, if it never comes back, leaves no line: not handed over.)

A re-run skips `sent` and in-doubt addresses (at most once: never twice, at the price of
reporting the in-doubt ones for a human to check) and retries `failed` ones.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

SENDING, SENT, FAILED = "sending", "sent", "failed"
LEDGER_ENV = "PIPELINE_SEND_LEDGER"
DEFAULT_LEDGER_DIR = Path(".send-ledger")  # beside output/, never inside the public root


@dataclass(frozen=True, slots=True)
class LedgerState:
    """The ledger read back: the last state of every address (keys are lower-case)."""

    states: dict[str, str]

    def sent(self) -> set[str]:
        return {a for a, s in self.states.items() if s == SENT}

    def in_doubt(self) -> set[str]:
        return {a for a, s in self.states.items() if s == SENDING}


class SendLedger:
    """Append-only, fsynced record of one issue's deliveries."""

    def __init__(self, folder: Path, issue_id: str) -> None:
        self.path = folder / f"{issue_id}.jsonl"
        self._fd: int | None = None

    def read(self) -> LedgerState:
        """Every address's last state; a torn last line (killed mid-write) is ignored."""
        states: dict[str, str] = {}
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return LedgerState(states)
        for line in lines:
            try:
                record = json.loads(line)
                states[str(record["address"]).lower()] = str(record["state"])
            except (ValueError, KeyError, TypeError):
                continue  # a partial line can only be the last one: a crash while writing
        return LedgerState(states)

    def record(self, address: str, state: str, message_id: str, at: str,
               error: str | None = None) -> None:
        """Append one line and fsync it before the caller goes on (the point of a ledger)."""
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                               0o600)  # subscriber addresses: private to the operator
            self._end_torn_line()
        record = {"address": address.lower(), "state": state, "message_id": message_id, "at": at}
        if error:
            record["error"] = error
        os.write(self._fd, json.dumps(record, sort_keys=True).encode() + b"\n")
        os.fsync(self._fd)

    def _end_torn_line(self) -> None:
        """After a crash mid-line, start on a fresh line so the next record parses."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size and self.path.read_bytes()[-1:] != b"\n":
            os.write(self._fd, b"\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
