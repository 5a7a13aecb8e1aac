"""Email: the alert as a threaded message with one-click unsubscribe (alerts.emails)."""

from __future__ import annotations

import smtplib

from alerts import emails
from alerts.channels.base import Notice, TransportError


def smtp_refused_permanently(exc: BaseException) -> bool:
    """A 5xx answer to RCPT TO: the mailbox does not exist or will never take our mail."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return False
    return all(code >= 500 for code, _ in exc.recipients.values())


def smtp_error(exc: BaseException) -> TransportError:
    """Everything smtplib raises is an SMTPException, itself an OSError, as are refused or
    reset connections and timeouts: transient, except a server's final no."""
    permanent = smtp_refused_permanently(exc) or (
        # The server refuses this message for good (size, content): retrying cannot help.
        isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
    )
    return TransportError(f"{type(exc).__name__}: {exc}"[:1000], permanent=permanent)


class EmailTransport:
    def send(self, notice: Notice) -> None:
        if notice.event == "upstream":
            message = emails.upstream_email_build(notice=notice)
        else:
            message = emails.alert_email_build(notice=notice)
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            raise smtp_error(exc) from exc
