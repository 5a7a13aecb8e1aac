"""Django's SMTP backend, waiting for the reply to the end of a message as long as RFC 5321
asks, and saying when a failure came after the message was handed over.

EMAIL_TIMEOUT bounds every exchange with the relay. After the message's last line a relay
may scan it before it answers (RFC 5321 4.5.3.2.6 gives it ten minutes): with 20 seconds
there, a slow but working relay stored a copy at every attempt while each was recorded as a
failure, one copy a retry (chaos tester, forty-third session). That reply now waits
EMAIL_DATA_TIMEOUT, and a failure while waiting for it is marked: the relay may have the
message, so the outbox records the attempt as maybe delivered (alerts.services.outbox).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as DjangoEmailBackend

if TYPE_CHECKING:
    from _typeshed import SizedBuffer
    from typing_extensions import Buffer

_END_OF_DATA = b"\r\n.\r\n"


class _SMTP(smtplib.SMTP):
    """Notes whether a message's data went out in full, and then waits EMAIL_DATA_TIMEOUT."""

    handed_over = False
    _in_data = False

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: SizedBuffer | str,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        # Per message: on a kept connection (alerts.channels.email.connection_kept) the flag of
        # the message before must not mark a failure of this one as handed over.
        self.handed_over = False
        # Our messages carry raw UTF-8 (Content-Transfer-Encoding: 8bit): RFC 6152 asks for
        # BODY=8BITMIME on MAIL when the relay offers it, and RFC 5321 allows 7-bit otherwise
        # (mail tester F1, forty-fifth session: never sent, though the relay offered it).
        if isinstance(msg, bytes) and not msg.isascii():
            self.ehlo_or_helo_if_needed()
            if self.has_extn("8bitmime") and "BODY=8BITMIME" not in mail_options:
                mail_options = (*mail_options, "BODY=8BITMIME")
        return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self.handed_over, self._in_data = False, True
        try:
            return super().data(msg)
        finally:
            self._in_data = False
            # Back to EMAIL_TIMEOUT for the next message on a kept connection.
            if self.sock is not None and isinstance(self.timeout, int | float):
                self.sock.settimeout(self.timeout)

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if self._in_data and isinstance(s, bytes) and s.endswith(_END_OF_DATA):
            self.handed_over = True
            if self.sock is not None:
                self.sock.settimeout(settings.EMAIL_DATA_TIMEOUT)


class _SMTPSSL(_SMTP, smtplib.SMTP_SSL):
    pass


def handed_over(exc: BaseException) -> bool:
    """Whether the relay had the whole message when `exc` happened (it may have kept it)."""
    return bool(getattr(exc, "outagewatch_handed_over", False))


class EmailBackend(DjangoEmailBackend):
    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPSSL if self.use_ssl else _SMTP

    def _send(self, email_message: EmailMessage) -> bool:
        try:
            # Django's, missing from its stubs.
            return super()._send(email_message)  # type: ignore[misc]
        except (smtplib.SMTPException, OSError) as exc:
            # Any: an attribute of ours on the exception, read back by handed_over().
            cast(Any, exc).outagewatch_handed_over = getattr(self.connection, "handed_over", False)
            raise
