"""Outbound HTTP to addresses someone else chose: a request that cannot be turned against us.

Used by the alert channels (a subscriber's webhook URL: alerts.channels.http) and by the
official status poller (a status page named in a data file: detection.official.fetch). The
URL is not ours, so the request must not reach inside our network (SSRF): the host is
resolved once, every address it resolves to must be public, and the connection goes to that
vetted address (a second lookup could answer differently: DNS rebinding). Redirects are never
followed (a 3xx could point anywhere: the caller gets it as an answer), connect and each read
have a timeout and the whole body a deadline of one more timeout (a server trickling a byte
at a time must not hold a worker), and at most ``max_bytes`` of the body are read. Loopback
is allowed only when the caller says so (tests and development).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(Exception):
    """The request failed; ``permanent`` says whether another attempt could succeed."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most max_bytes
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    truncated: bool = False  # the server had more than max_bytes to say


# NAT64's well-known prefix (RFC 6052): 64:ff9b::a.b.c.d is a.b.c.d behind a translator.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:10.0.0.1), 6to4
    (2002:0a00:0001::) or NAT64 (64:ff9b::10.0.0.1); None for any other."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(ip: IPAddress, *, allow_loopback: bool) -> bool:
    ip = embedded_ipv4(ip) or ip  # judged as the address it reaches
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def _vetted_address(host: str, port: int, *, allow_loopback: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Often temporary (resolver trouble); a name that never resolves gives up after the
        # caller's retries like any other transient failure.
        raise OutboundError(f"Cannot resolve {host}: {exc}", permanent=False) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [
        str(ip) for ip in addresses if not address_allowed(ip, allow_loopback=allow_loopback)
    ]
    if refused or not addresses:
        # All or nothing: a name that also points inside is refused, whatever else it says.
        raise OutboundError(
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


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float,
    max_bytes: int,
    allow_loopback: bool,
) -> Response:
    """One request to ``url`` at a vetted public address; any status is returned as it came
    (redirects included, unfollowed). Raises OutboundError when no answer could be had."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundError(f"Bad port in {url[:100]}", permanent=True) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(f"Not an http(s) URL: {url[:100]}", permanent=True)
    address = _vetted_address(parts.hostname, port, allow_loopback=allow_loopback)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, address=address, timeout=timeout)
    path = request_target(url)
    try:
        connection.request(method, path, body=body, headers={"Connection": "close", **headers})
        response = connection.getresponse()
        data = _read_capped(response, limit=max_bytes + 1, timeout=timeout)
        return Response(
            status=response.status,
            body=data[:max_bytes],
            headers={name.lower(): value for name, value in response.getheaders()},
            truncated=len(data) > max_bytes,
        )
    except ssl.SSLCertVerificationError as exc:
        raise OutboundError(f"TLS certificate refused: {exc}", permanent=True) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, refused, reset, bad answer
        raise OutboundError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    finally:
        connection.close()


# What stays as it is in a path or a query (RFC 3986 pchar and "/", "?"; "%" keeps the
# escapes already there); anything else, letters of other scripts and spaces included, is
# sent percent-encoded as UTF-8, as browsers send it.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def request_target(url: str) -> str:
    """The path and query of ``url`` as they go on the request line: ASCII only."""
    parts = urlsplit(url)
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target = f"{target}?{quote(parts.query, safe=_QUERY_SAFE)}"
    return target


def _read_capped(response: http.client.HTTPResponse, *, limit: int, timeout: float) -> bytes:
    """At most ``limit`` bytes, within one more timeout in all."""
    deadline = time.monotonic() + timeout
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
