"""Logging filters (installed by LOGGING in settings)."""

from __future__ import annotations

import logging
import re
import threading

from outagewatch.quoting import shortened


class _Spacing:
    """At most one line of each kind within `interval_seconds`: the lines in between are
    counted, and the next line says how many there were. Kinds are few (a status code, one
    condition), so the counts stay small."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._next_at: dict[object, float] = {}
        self._held: dict[object, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._next_at.clear()
            self._held.clear()

    def admit(self, kind: object, at: float) -> int | None:
        """None: hold this line. Otherwise log it, with this many held since the last."""
        with self._lock:
            if at < self._next_at.get(kind, float("-inf")):
                self._held[kind] = self._held.get(kind, 0) + 1
                return None
            self._next_at[kind] = at + self.interval_seconds
            return self._held.pop(kind, 0)


class SpacedFilter(logging.Filter):
    """A filter that lets a kind of line through at most once a minute (_Spacing)."""

    interval_seconds = 60.0

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._spacing = _Spacing(self.interval_seconds)

    def reset(self) -> None:
        self._spacing.reset()


class DisallowedHostFilter(SpacedFilter):
    """A request for a host not in ALLOWED_HOSTS as one WARNING line, at most one a minute.

    Django logs each at ERROR with its traceback: scanners of the internet send them all
    day, and the error log filled with one well-known condition. The line names the host
    (shortened: the client chose it) and never the client's address: the request, which
    a handler (an email to admins, an error tracker) would render with REMOTE_ADDR, is
    dropped from the record. One client sending thousands a second must not fill the disk
    either: within `interval_seconds` of a line the others are counted, and the next line
    says how many there were.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        held = self._spacing.admit(None, record.created)
        if held is None:
            return False
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


class ClientErrorFilter(SpacedFilter):
    """django.request's line for a 4xx answer, at most one a minute per status code (in each
    process: the count is the process's own, no shared store on the request path): a client
    sending at its throttle (or a scanner walking paths) made one WARNING line per request,
    each a few hundred bytes, so a flood of refused requests filled the disk that the refusal
    spared the database. The line kept names the path of that request (never the client's
    address: Django's line has none) and how many more of that status were not logged singly.
    5xx lines are never held: each is a fault of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        held = self._spacing.admit(status, record.created)
        if held is None:
            return False
        if held:
            more = f"{held} more {status}s since the last such line, not logged singly"
            record.msg = f"{record.getMessage()} ({more})"
            record.args = ()
        return True


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
