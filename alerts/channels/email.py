"""Email: the alert as a threaded message with one-click unsubscribe (alerts.emails)."""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from alerts import emails
from alerts.channels.base import ADDRESS_REFUSED, Notice, TransportError
from alerts.channels.smtp import handed_over
from outagewatch.outbound import connection_failure

logger = logging.getLogger(__name__)

# The relay connection the emails sent within connection_kept() share (None: one each).
_kept: ContextVar[BaseEmailBackend | None] = ContextVar("alerts_email_connection", default=None)

# RFC 3463's enhanced status code at the start of a reply's text ("5.1.1 User unknown").
_ENHANCED = re.compile(rb"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Basic replies that name the mailbox when a server gives no enhanced code (RFC 5321:
# mailbox unavailable, user not local, mailbox name not allowed).
_MAILBOX_REPLIES = {550, 551, 553}
# An address in a server's reply ("<ann@example.com>: Recipient address rejected").
_ADDRESS = re.compile(r"[^\s<>()\[\]'\",;:@]+@[^\s<>()\[\]'\",;:]+")


def _refusal(exc: BaseException) -> str:
    """How RCPT TO refused every recipient for good: "gone" (an addressing status, 5.1.x: no
    such mailbox, bad address, no such domain; 5.2.1: mailbox disabled), "refused" (a bare
    550/551/553 from a server that gives no enhanced code: "550 No such user", or a policy
    refusal that says no more), or "" for anything else, policy refusals with their code
    included (5.7.x: relaying denied, sender not verified): those are about our relay, not
    the subscriber's mailbox, and must not unsubscribe everybody when it is misconfigured."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return ""
    kinds = set()
    for code, text in exc.recipients.values():
        text = text if isinstance(text, bytes) else str(text).encode()
        status = _ENHANCED.match(text)
        if code < 500:
            return ""
        if status is None:
            kinds.add("refused" if code in _MAILBOX_REPLIES else "")
        elif status.group(2) == b"1" or status.group(2, 3) == (b"2", b"1"):
            kinds.add("gone")
        else:
            kinds.add("")  # 5.2.2 mailbox full, 5.7.x policy and the like
    return min(kinds, key=("", "refused", "gone").index)


def smtp_error(exc: BaseException) -> TransportError:
    """Everything smtplib raises is an SMTPException, itself an OSError, as are refused or
    reset connections and timeouts: transient (retried with backoff), except a refusal of the
    address itself. A 5xx to the message (DATA) or a policy refusal is retried too: it is
    most often the relay's configuration (a sender not verified, authentication missing),
    which the operator can fix before the retries run out. A bare refusal fails the message
    and counts towards disabling, as webhooks' refusals do."""
    refusal = _refusal(exc)
    # Handed over and then no answer (a reply, even a refusal, says what it did with it).
    maybe = handed_over(exc) and not isinstance(exc, smtplib.SMTPResponseException)
    text = _described(exc) + (
        ", after it had the whole message (it may have kept it)" if maybe else ""
    )
    return TransportError(
        text[:1000], permanent=bool(refusal), gone=refusal == "gone", maybe_delivered=maybe
    )


def _reply(text: bytes | str) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


def _described(exc: BaseException) -> str:
    """The failure in plain words (the delivery's last_error, the manage page, the "channel
    disabled" email, warning logs; never "[Errno 111]"), without the subscriber's address:
    smtplib's refusal is a dict keyed by it, and relays echo it in their replies."""
    host = getattr(settings, "EMAIL_HOST", "")
    port = getattr(settings, "EMAIL_PORT", None)
    # The port too: a wrong one in EMAIL_URL is what an operator reading "connection
    # refused" needs to see (newcomer tester F8).
    relay = f"the mail relay {host}:{port}" if host and port else f"the mail relay {host}".rstrip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        replies = "; ".join(f"{code} {_reply(text)}" for code, text in exc.recipients.values())
        text = f"{ADDRESS_REFUSED}: {replies}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"the mail relay answered {exc.smtp_code} {_reply(exc.smtp_error)}"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        text = f"{relay} closed the connection"
    elif isinstance(exc, smtplib.SMTPException):
        text = f"the mail relay failed: {exc}"
    elif isinstance(exc, TimeoutError):
        text = f"{relay} did not answer in time"
    else:  # refused, reset, unreachable: as webhooks say them
        text = connection_failure(exc, relay)
    return _ADDRESS.sub("<address>", text)


@contextmanager
def connection_kept() -> Iterator[None]:
    """The emails sent within go over one connection to the relay, opened by the first and
    closed at the end: a connection each (TCP, EHLO, STARTTLS, AUTH, QUIT) cost more than
    the message itself, and 50,000 alerts opened 50,000 (bench/alerts/README.md)."""
    backend = get_connection(fail_silently=False)
    token = _kept.set(backend)
    try:
        yield
    finally:
        _kept.reset(token)
        _close(backend)


def _close(backend: BaseEmailBackend) -> None:
    """Close a kept connection; its messages are recorded already, so a relay that does not
    answer QUIT costs nothing but a log line."""
    connection = getattr(backend, "connection", None)
    try:
        backend.close()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Closing the connection to the mail relay failed: %s", _described(exc))
    finally:
        if connection is not None:
            connection.close()  # the socket, when QUIT failed before smtplib closed it


def _resend_fresh(exc: BaseException) -> bool:
    """Whether a message that failed on a kept connection goes once more on a new one: the
    relay closed it meanwhile (idle, or its messages-per-connection limit: 421), before the
    message was handed over. One that may have been handed over is never sent twice."""
    if handed_over(exc):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    return isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError)


class EmailTransport:
    def send(self, notice: Notice) -> None:
        if notice.event == "upstream":
            message = emails.upstream_email_build(notice=notice)
        else:
            message = emails.alert_email_build(notice=notice)
        kept = _kept.get()
        try:
            if kept is None:
                message.send(fail_silently=False)
            else:
                _send_kept(message, kept)
        except (smtplib.SMTPException, OSError) as exc:
            raise smtp_error(exc) from exc


def _send_kept(message: EmailMessage, kept: BaseEmailBackend) -> None:
    """Send over the kept connection, opened here: a backend closes again what its
    send_messages opened."""
    message.connection = kept
    reused = getattr(kept, "connection", None) is not None
    try:
        kept.open()
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        # A failed exchange may leave the connection mid-transaction: the next message
        # starts on a new one.
        _close(kept)
        if not (reused and _resend_fresh(exc)):
            raise
        try:
            kept.open()
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError):
            _close(kept)
            raise
