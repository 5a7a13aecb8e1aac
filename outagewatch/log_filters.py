"""Logging filters (installed by LOGGING in settings)."""

from __future__ import annotations

import logging
import re
import threading

from outagewatch.quoting import shortened


class DisallowedHostFilter(logging.Filter):
    """A request for a host not in ALLOWED_HOSTS as one WARNING line, at most one a minute.

    Django logs each at ERROR with its traceback: scanners of the internet send them all
    day, and the error log filled with one well-known condition. The line names the host
    (shortened: the client chose it) and never the client's address: the request, which
    a handler (an email to admins, an error tracker) would render with REMOTE_ADDR, is
    dropped from the record. One client sending thousands a second must not fill the disk
    either: within `interval_seconds` of a line the others are counted, and the next line
    says how many there were.
    """

    interval_seconds = 60.0

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._next_at = float("-inf")
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            if record.created < self._next_at:
                self._held += 1
                return False
            held, self._held = self._held, 0
            self._next_at = record.created + self.interval_seconds
        request = getattr(record, "request", None)
        host = _raw_host(request) if request is not None else None
        record.msg = (
            f"Refused a request for host {shortened(host)!r}: not in ALLOWED_HOSTS."
            if host is not None
            else "Refused a request for a host not in ALLOWED_HOSTS."
        )
        if held:
            record.msg += f" {held} more refused since the last such line, not logged singly."
        record.args = ()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = record.stack_info = None
        if request is not None:
            delattr(record, "request")  # set by Django's logging, not a LogRecord attribute
        return True


def _raw_host(request: object) -> str | None:
    # The Host (or the trusted X-Forwarded-Host) as sent: get_host() raises for it.
    try:
        return request._get_raw_host()  # type: ignore[attr-defined]
    except Exception:  # a stand-in request in tests, or a broken one: name no host
        return None


class HealthProbeFilter(logging.Filter):
    """No line for a health endpoint's 503 (django.request logs every 5xx at ERROR): it is
    the endpoint's answer, which the monitor or load balancer polling it acts on, and a probe
    every few seconds filled the error log with one line each while the stack was degraded
    (or in its first minute)."""

    prefix = "/api/v1/health/"

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", "")
        return not (getattr(record, "status_code", None) == 503 and path.startswith(self.prefix))


# The token of a confirm, unsubscribe or manage link: the link is the credential.
_TOKEN_PATH = re.compile(r"(/subscriptions/(?:confirm|unsubscribe|manage)/)[^/\s\"']+")


class TokenPathFilter(logging.Filter):
    """A subscription link's token cut from every line (installed on the handler, so every
    logger is covered): Django logs the path of each 4xx (a used link, a CSRF refusal), and a
    manage link, which never expires, lets whoever reads the log rotate a webhook's signing
    secret or delete the channel (security tester F5)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/subscriptions/" in message:
            redacted = _TOKEN_PATH.sub(r"\1<token>", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True
