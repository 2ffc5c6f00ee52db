"""One SMTP session for the send step: deliver one message per call, retry, keep the ledger."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import time
from collections.abc import Callable

from pipeline.errors import PipelineError
from pipeline.send.ledger import FAILED, SENDING, SENT, SendLedger
from pipeline.send.request import (
    PASSWORD_ENV,
    USER_ENV,
    Recipient,
    SendRequest,
    smtp_login_allowed,
    tls_context,
    transient,
)
from pipeline.send.smtp import BoundedSMTP, BoundedSMTP_SSL

# Connection drops and timeouts before the message data is handed over: safe to retry.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)


class Mailer:
    """An SMTP connection (reopened when it drops) and the ledger lines around each message."""

    def __init__(self, request: SendRequest, envelope_from: str, ledger: SendLedger,
                 clock: Callable[[], dt.datetime],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.request = request
        self.clock = clock
        self.envelope_from = envelope_from
        self.ledger = ledger
        self.sleep = sleep
        self.smtp: BoundedSMTP | BoundedSMTP_SSL | None = None

    def _connect(self) -> BoundedSMTP | BoundedSMTP_SSL:
        request = self.request
        if self.smtp is not None:
            return self.smtp
        factory = BoundedSMTP_SSL if request.implicit_tls else BoundedSMTP
        kwargs = {"context": tls_context()} if request.implicit_tls else {}
        smtp = factory(request.smtp_host, request.smtp_port, timeout=request.timeout, **kwargs)
        try:
            smtp.ehlo()
            if request.starttls:
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            user = os.environ.get(USER_ENV)
            if user:
                if not smtp_login_allowed(request):
                    raise PipelineError(f"refusing to send the password of {USER_ENV} in clear "
                                        f"text to {request.smtp_host}; add --starttls or --ssl")
                smtp.login(user, os.environ.get(PASSWORD_ENV, ""))
        except smtplib.SMTPAuthenticationError as error:
            smtp.close()
            raise PipelineError(f"the SMTP server refused the login of ${USER_ENV} "
                                f"({error.smtp_code} {_text(error.smtp_error)}); check "
                                f"${USER_ENV} and ${PASSWORD_ENV}") from None
        except smtplib.SMTPNotSupportedError as error:
            smtp.close()
            raise PipelineError(f"{request.smtp_host}:{request.smtp_port}: {error}") from None
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        """QUIT politely; a dead connection is simply dropped."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def _record(self, recipient: Recipient, state: str, message_id: str,
                error: str | None = None) -> None:
        self.ledger.record(recipient.address, state, message_id,
                           self.clock().isoformat().replace("+00:00", "Z"), error)

    def deliver(self, recipient: Recipient, data: bytes, message_id: str) -> tuple[str, str | None]:
        """SENT, FAILED (with the reason) or SENDING (in doubt: never retried)."""
        attempts = self.request.retries + 1
        error = "no attempt"
        for attempt in range(attempts):
            if attempt:
                self.sleep(self.request.backoff * 2 ** (attempt - 1))
            try:
                smtp = self._connect()
                options = []
                smtp.command_encoding = "ascii"  # smtplib leaves it at utf-8 after SMTPUTF8
                if not (recipient.wire_address.isascii() and self.envelope_from.isascii()):
                    if not smtp.has_extn("smtputf8"):
                        # Per address, recorded, retried by a later run: the rest go on.
                        error = (f"{self.request.smtp_host} does not offer SMTPUTF8, which "
                                 "a non-ASCII address needs")
                        self._record(recipient, FAILED, message_id, error)
                        return FAILED, error
                    options = ["SMTPUTF8"]
                code, reply = smtp.mail(self.envelope_from, options)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, self.envelope_from)
                code, reply = smtp.rcpt(recipient.wire_address)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient.address: (code, reply)})
                # DATA and its 354 go-ahead: a drop here has handed nothing over (retryable).
                code, reply = smtp.start_data()
                if code != 354:
                    raise smtplib.SMTPRecipientsRefused({recipient.address: (code, reply)})
            except smtplib.SMTPRecipientsRefused as refused:
                code, reply = refused.recipients[recipient.address]
                error = f"{code} {_text(reply)}"
                self._reset()
                if transient(code) and attempt + 1 < attempts:
                    continue
                self._record(recipient, FAILED, message_id, error)
                return FAILED, error
            except smtplib.SMTPResponseException as refused:  # greeting or MAIL FROM refused
                error = f"{refused.smtp_code} {_text(refused.smtp_error)}"
                self._drop()
                if transient(refused.smtp_code) and attempt + 1 < attempts:
                    continue
                raise PipelineError(f"the SMTP server {self.request.smtp_host}:"
                                    f"{self.request.smtp_port} refused to take mail from "
                                    f"{self.envelope_from} ({error}); stopped") from None
            except DROPPED as dropped:
                error = f"connection: {dropped}"
                self._drop()
                if attempt + 1 < attempts:
                    continue
                raise PipelineError(f"cannot reach {self.request.smtp_host}:"
                                    f"{self.request.smtp_port} ({dropped}) after {attempts} "
                                    "attempts; re-run later (the ledger skips those sent)") from None
            # From here on the server may accept the message: the ledger says so first.
            self._record(recipient, SENDING, message_id)
            try:
                code, reply = smtp.finish_data(data)
            except DROPPED:
                self._drop()  # maybe delivered, maybe not: in doubt, never retried
                return SENDING, None
            if code == 250:
                self._record(recipient, SENT, message_id)
                return SENT, None
            error = f"{code} {_text(reply)}"
            self._record(recipient, FAILED, message_id, error)  # refused: not delivered
            self._reset()
            if transient(code) and attempt + 1 < attempts:
                continue
            return FAILED, error
        return FAILED, error

    def _reset(self) -> None:
        """RSET after a refusal so the next transaction starts clean; else reconnect later."""
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except OSError:  # smtplib's errors are OSErrors too
            self._drop()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
