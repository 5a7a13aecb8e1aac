"""Email: the alert as a threaded message with one-click unsubscribe (alerts.emails)."""

from __future__ import annotations

import re
import smtplib

from alerts import emails
from alerts.channels.base import Notice, TransportError

# RFC 3463's enhanced status code at the start of a reply's text ("5.1.1 User unknown").
_ENHANCED = re.compile(rb"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Basic replies that name the mailbox when a server gives no enhanced code (RFC 5321:
# mailbox unavailable, user not local, mailbox name not allowed).
_MAILBOX_REPLIES = {550, 551, 553}


def _refusals(exc: BaseException) -> list[tuple[int, bytes]]:
    """The 5xx refusals of every recipient, or [] unless all of them were refused for good."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return []
    answers = [
        (code, text if isinstance(text, bytes) else str(text).encode())
        for code, text in exc.recipients.values()
    ]
    return answers if all(code >= 500 for code, _ in answers) else []


def smtp_mailbox_gone(exc: BaseException) -> bool:
    """RCPT TO refused with an addressing status (5.1.x: no such mailbox, bad address, no
    such domain; 5.2.1: mailbox disabled): the address will never take mail. Not a policy
    refusal (5.7.x: relaying denied, sender not verified), which is about our relay, not the
    subscriber's mailbox, and must not unsubscribe everybody when the relay is misconfigured."""
    refusals = _refusals(exc)
    for _code, text in refusals:
        status = _ENHANCED.match(text)
        if status is None or status.group(2) not in (b"1", b"2"):
            return False
        if status.group(2) == b"2" and status.group(3) != b"1":
            return False  # 5.2.2 mailbox full and the like: the mailbox exists
    return bool(refusals)


def smtp_refused_permanently(exc: BaseException) -> bool:
    """The address is refused for good: gone (above), or a bare 550/551/553 from a server that
    gives no enhanced code ("550 No such user"), which may also be a policy refusal. The
    latter fails the message and counts towards disabling, as webhooks' refusals do."""
    if smtp_mailbox_gone(exc):
        return True
    refusals = _refusals(exc)
    return bool(refusals) and all(
        code in _MAILBOX_REPLIES and _ENHANCED.match(text) is None for code, text in refusals
    )


def smtp_error(exc: BaseException) -> TransportError:
    """Everything smtplib raises is an SMTPException, itself an OSError, as are refused or
    reset connections and timeouts: transient (retried with backoff), except a refusal of the
    address itself. A 5xx to the message (DATA) or a policy refusal is retried too: it is
    most often the relay's configuration (a sender not verified, authentication missing),
    which the operator can fix before the retries run out."""
    return TransportError(
        f"{type(exc).__name__}: {exc}"[:1000],
        permanent=smtp_refused_permanently(exc),
        gone=smtp_mailbox_gone(exc),
    )


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
