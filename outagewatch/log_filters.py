"""Logging filters (installed by LOGGING in settings)."""

from __future__ import annotations

import logging

from outagewatch.quoting import shortened


class DisallowedHostFilter(logging.Filter):
    """A request for a host not in ALLOWED_HOSTS as one WARNING line.

    Django logs each at ERROR with its traceback: scanners of the internet send them all
    day, and the error log filled with one well-known condition. The line names the host
    (shortened: the client chose it) and never the client's address: the request, which
    a handler (an email to admins, an error tracker) would render with REMOTE_ADDR, is
    dropped from the record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        host = _raw_host(request) if request is not None else None
        record.msg = (
            f"Refused a request for host {shortened(host)!r}: not in ALLOWED_HOSTS."
            if host is not None
            else "Refused a request for a host not in ALLOWED_HOSTS."
        )
        record.args = ()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = record.stack_info = None
        if request is not None:
            del record.request
        return True


def _raw_host(request: object) -> str | None:
    # The Host (or the trusted X-Forwarded-Host) as sent: get_host() raises for it.
    try:
        return request._get_raw_host()  # type: ignore[attr-defined]
    except Exception:  # a stand-in request in tests, or a broken one: name no host
        return None
