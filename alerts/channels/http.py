"""Outbound HTTP for webhook channels: a POST that cannot be turned against us.

The URL is the subscriber's, so the request must not reach inside our network (SSRF): the
host is resolved once, every address it resolves to must be public, and the connection goes
to that vetted address (a second lookup could answer differently: DNS rebinding). Redirects
are never followed (a 3xx could point anywhere), connect and read have a timeout, and at
most ALERT_HTTP_MAX_RESPONSE_BYTES of the answer are read. Loopback receivers are allowed
only with ALERT_HTTP_ALLOW_LOOPBACK (tests and development).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from alerts.channels.base import TransportError

USER_AGENT = "OutageWatch-Alerts/1.0 (+https://github.com/outagewatch)"

# Worth another try: the receiver is overloaded, restarting or rate-limiting us.
TRANSIENT_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most ALERT_HTTP_MAX_RESPONSE_BYTES


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:10.0.0.1 is 10.0.0.1
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return settings.ALERT_HTTP_ALLOW_LOOPBACK
    return ip.is_global and not ip.is_multicast


def _vetted_address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Often temporary (resolver trouble); a name that never resolves gives up after the
        # retries like any other transient failure.
        raise TransportError(f"Cannot resolve {host}: {exc}", permanent=False) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [str(ip) for ip in addresses if not address_allowed(ip)]
    if refused or not addresses:
        # All or nothing: a name that also points inside is refused, whatever else it says.
        raise TransportError(
            f"{host} resolves to an address we do not send to ({', '.join(refused)})",
            permanent=True,
        )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        # To the vetted address, with the certificate checked against the name (SNI).
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url``; returns a 2xx answer or raises TransportError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"Not an http(s) URL: {url[:100]}", permanent=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        parts.hostname, port, address=address, timeout=settings.ALERT_HTTP_TIMEOUT_SECONDS
    )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    all_headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        **headers,
    }
    try:
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        answer = Answer(status=response.status, body=_read_capped(response))
    except ssl.SSLCertVerificationError as exc:
        raise TransportError(f"TLS certificate refused: {exc}", permanent=True) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, refused, reset, bad answer
        raise TransportError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    finally:
        connection.close()
    return _checked(answer)


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    """At most ALERT_HTTP_MAX_RESPONSE_BYTES, within one more timeout in all: a receiver
    trickling its answer a byte at a time must not hold the worker."""
    limit = settings.ALERT_HTTP_MAX_RESPONSE_BYTES
    deadline = time.monotonic() + settings.ALERT_HTTP_TIMEOUT_SECONDS
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long")
        chunk = response.read1(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


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
