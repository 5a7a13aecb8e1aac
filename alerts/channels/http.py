"""Outbound HTTP for webhook channels: a POST that cannot be turned against us.

The SSRF-safe request itself (vetted public address pinned, no redirects, one deadline, capped
body) is outagewatch.outbound, shared with the official status poller; this module adds the
alerts' settings and what an answer means for a delivery. At most
ALERT_HTTP_MAX_RESPONSE_BYTES of the answer are read. Loopback receivers are allowed only with
ALERT_HTTP_ALLOW_LOOPBACK (tests and development).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings

from alerts.channels.base import TransportError
from outagewatch import outbound

USER_AGENT = "OutageWatch-Alerts/1.0 (+https://github.com/outagewatch)"

# Worth another try: the receiver is overloaded, restarting or rate-limiting us.
TRANSIENT_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most ALERT_HTTP_MAX_RESPONSE_BYTES


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return outbound.address_allowed(ip, allow_loopback=settings.ALERT_HTTP_ALLOW_LOOPBACK)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url``; returns a 2xx answer or raises TransportError."""
    try:
        response = outbound.request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=settings.ALERT_HTTP_TIMEOUT_SECONDS,
            max_bytes=settings.ALERT_HTTP_MAX_RESPONSE_BYTES,
            allow_loopback=settings.ALERT_HTTP_ALLOW_LOOPBACK,
        )
    except outbound.OutboundError as exc:
        # Sent in full and then no answer: the receiver may have acted on it.
        raise TransportError(str(exc), permanent=exc.permanent, maybe_delivered=exc.sent) from exc
    return _checked(Answer(status=response.status, body=response.body))


def _checked(answer: Answer) -> Answer:
    status = answer.status
    if 200 <= status < 300:
        return answer
    snippet = answer.body[:200].decode("utf-8", "replace")
    message = f"HTTP {status}: {snippet}".strip()
    if 300 <= status < 400:
        raise TransportError(f"{message} (redirects are not followed)", permanent=True)
    if status >= 500 or status in TRANSIENT_STATUSES:
        raise TransportError(message, permanent=False)
    raise TransportError(message, permanent=True)
