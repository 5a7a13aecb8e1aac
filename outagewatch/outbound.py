"""Outbound HTTP to addresses someone else chose: a request that cannot be turned against us.

Used by the alert channels (a subscriber's webhook URL: alerts.channels.http) and by the
official status poller (a status page named in a data file: detection.official.fetch). The
URL is not ours, so the request must not reach inside our network (SSRF): the host is
resolved once, every address it resolves to must be public, and the connection goes to that
vetted address (a second lookup could answer differently: DNS rebinding). Redirects are never
followed (a 3xx could point anywhere: the caller gets it as an answer), and at most
``max_bytes`` of the body are read. Loopback is allowed only when the caller says so (tests
and development).

``timeout`` is one deadline for the whole exchange: connect, TLS handshake, sending, status
line, headers and body. A per-read timeout is not enough: a server trickling its headers one
byte a second never lets a read time out, and held a worker (or a web thread, "Send a test")
for as long as it liked. Each blocking call is given only the time left instead (_Deadline).
The name lookup counts too: the system resolver's own timeouts (5 s per try, per nameserver)
could hold a worker for tens of seconds before the exchange even began (_lookup).
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast
from urllib.parse import quote, urlsplit

from outagewatch.embedded_ipv4 import IPAddress, embedded_ipv4
from outagewatch.idn import host_ascii

if TYPE_CHECKING:
    from http.client import _DataType

    from _typeshed import WriteableBuffer

logger = logging.getLogger(__name__)


class OutboundError(Exception):
    """The request failed; ``permanent`` says whether another attempt could succeed, ``sent``
    that the whole request had gone out (the server may have acted on it)."""

    def __init__(self, message: str, *, permanent: bool, sent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.sent = sent


class OutboundTimeout(OutboundError):
    """No complete answer within the deadline: worth another attempt later."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message, permanent=False, sent=sent)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most max_bytes
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    truncated: bool = False  # the server had more than max_bytes to say


# Prefixes that only ever reach a site's own network: the local-use NAT64 prefix (RFC 8215,
# whatever IPv4 it embeds, and where, depends on the site's prefix length; Python counts it
# global) and the deprecated site-local fec0::/10.
_LOCAL_ONLY = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10"))


def address_allowed(ip: IPAddress, *, allow_loopback: bool) -> bool:
    ip = embedded_ipv4(ip) or ip  # judged as the address it reaches
    if ip.is_loopback:
        return allow_loopback
    if any(ip in network for network in _LOCAL_ONLY if network.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast


# Name lookups in flight at once, in the whole process. getaddrinfo can be neither given a
# timeout nor cancelled, so a lookup that outlives its request goes on in its thread until
# the resolver gives up; with the resolver down, every request would leave one more thread
# behind. With the slots taken, a request waits for one within its deadline and starts no
# thread: the threads stay bounded whatever the resolver does.
_MAX_LOOKUPS = 16
_LOOKUP_SLOTS = threading.BoundedSemaphore(_MAX_LOOKUPS)


def _fresh_lookup_slots() -> None:
    # A forked child (a Celery or gunicorn worker) has none of its parent's lookup threads,
    # so the slots they held in the copied semaphore would never come back.
    global _LOOKUP_SLOTS
    _LOOKUP_SLOTS = threading.BoundedSemaphore(_MAX_LOOKUPS)


os.register_at_fork(after_in_child=_fresh_lookup_slots)


def _lookup(host: str, port: int, deadline: _Deadline) -> list[tuple]:
    """socket.getaddrinfo within the time left; TimeoutError when it runs out."""
    slots = _LOOKUP_SLOTS  # the thread gives back the slot it took, whatever happens since
    if not slots.acquire(timeout=deadline.remaining()):
        raise TimeoutError("every name lookup slot is taken")
    answer: Future[list[tuple]] = Future()

    def resolve() -> None:
        try:
            answer.set_result(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # given to the caller, if it is still waiting
            answer.set_exception(exc)
        finally:
            slots.release()

    # A daemon thread rather than an executor's: those are joined when the process exits, so
    # a lookup left running would hold up a worker's shutdown.
    thread = threading.Thread(target=resolve, name="outbound-lookup", daemon=True)
    try:
        thread.start()
    except BaseException:
        slots.release()
        raise
    return answer.result(timeout=deadline.remaining())


def _vetted_address(host: str, port: int, *, allow_loopback: bool, deadline: _Deadline) -> str:
    try:
        infos = _lookup(host, port, deadline)
    except TimeoutError as exc:
        raise OutboundTimeout(
            f"timed out after {deadline.seconds:g} s: the name {host} did not resolve in time"
        ) from exc
    except (socket.gaierror, UnicodeError) as exc:
        # Often temporary (resolver trouble); a name that never resolves gives up after the
        # caller's retries like any other transient failure.
        raise OutboundError(_lookup_failure(exc, host), permanent=False) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [
        str(ip) for ip in addresses if not address_allowed(ip, allow_loopback=allow_loopback)
    ]
    if refused or not addresses:
        # All or nothing: a name that also points inside is refused, whatever else it says.
        # The addresses go to the operator's log only: the message reaches whoever chose the
        # URL (a webhook's "send a test", its delivery row, the "channel disabled" email), and
        # naming them mapped the deployment's internal names to their addresses, one test at a
        # time (red-team tester F3).
        literal = [host] == refused
        if not literal:
            logger.warning("Refused to send to %s: it resolves to %s", host, ", ".join(refused))
        verb = "is" if literal else "resolves to"
        raise OutboundError(
            f"{host} {verb} a private or local address, where we do not send", permanent=True
        )
    return str(addresses[0])


class _Deadline:
    """One monotonic deadline that every blocking call of a request shares."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes for http.client, each recv given only the time left.

    http.client reads the status line and headers line by line through a buffered file,
    one recv after another; without this, every recv had the whole timeout again. CPython
    keeps the timeout as a deadline within one recv (and one SSL read), so no call can
    outlast the request's deadline.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counted: closing the socket waits for it
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        self._sock.settimeout(self._deadline.remaining())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args, deadline: _Deadline, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain file http.client opened: read through the deadline instead
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


class _DeadlineMixin:
    """Connect and send within the deadline; the answer is read through _DeadlineResponse."""

    sock: socket.socket | None
    response_class: type[http.client.HTTPResponse]

    def _deadline_init(self, deadline: _Deadline) -> None:
        self._deadline = deadline
        # Not a class: http.client only calls response_class(sock, method=...).
        self.response_class = cast(
            type[http.client.HTTPResponse], functools.partial(_DeadlineResponse, deadline=deadline)
        )

    def _open(self, address: str, port: int) -> socket.socket:
        return socket.create_connection((address, port), self._deadline.remaining())

    def send(self, data: _DataType | str) -> None:
        # sendall keeps its timeout as a deadline for the whole call; each call gets the rest.
        if self.sock is not None:
            self.sock.settimeout(self._deadline.remaining())
        super().send(data)  # type: ignore[misc]


class _PinnedHTTPConnection(_DeadlineMixin, http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, deadline: _Deadline) -> None:
        super().__init__(host, port)  # its timeout unused: connect() takes the deadline's
        self._address = address
        self._deadline_init(deadline)

    def connect(self) -> None:
        self.sock = self._open(self._address, self.port)


class _PinnedHTTPSConnection(_DeadlineMixin, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, deadline: _Deadline) -> None:
        # Kept for connect(): HTTPSConnection's own copy is private.
        self._ssl_context = ssl.create_default_context()
        super().__init__(host, port, context=self._ssl_context)
        self._address = address
        self._deadline_init(deadline)

    def connect(self) -> None:
        # To the vetted address, with the certificate checked against the name (SNI).
        sock = self._open(self._address, self.port)
        try:
            # The handshake as a whole gets the time left (CPython keeps it as one deadline).
            sock.settimeout(self._deadline.remaining())
            self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


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
    (redirects included, unfollowed). Raises OutboundError when no answer could be had,
    OutboundTimeout when it was not complete within ``timeout`` seconds in all."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundError(f"Bad port in {url[:100]}", permanent=True) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(f"Not an http(s) URL: {url[:100]}", permanent=True)
    try:
        # As DNS holds it (IDNA 2008): socket and http.client would encode a name in another
        # script by IDNA 2003, and "straße.example" would reach strasse.example.
        host = host_ascii(parts.hostname)
    except UnicodeError as exc:
        raise OutboundError(f"{parts.hostname} is not a valid host name", permanent=True) from exc
    deadline = _Deadline(timeout)
    address = _vetted_address(host, port, allow_loopback=allow_loopback, deadline=deadline)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, deadline=deadline)
    path = request_target(url)
    response: http.client.HTTPResponse | None = None
    sent = False
    try:
        connection.request(method, path, body=body, headers={"Connection": "close", **headers})
        sent = True
        response = connection.getresponse()
        data = _read_capped(response, limit=max_bytes + 1)
        return Response(
            status=response.status,
            body=data[:max_bytes],
            headers={name.lower(): value for name, value in response.getheaders()},
            truncated=len(data) > max_bytes,
        )
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or "not valid"
        raise OutboundError(
            f"the TLS certificate of {parts.hostname} was refused: {reason}", permanent=True
        ) from exc
    except TimeoutError as exc:  # socket.timeout included, and the deadline itself
        raise OutboundTimeout(
            f"timed out after {timeout:g} s: no complete answer from {parts.hostname}", sent=sent
        ) from exc
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, bad answer
        failure = connection_failure(exc, parts.hostname)
        raise OutboundError(failure, permanent=False, sent=sent) from exc
    finally:
        if response is not None:
            response.close()
        connection.close()


# These words reach people (a delivery's last error, the "channel disabled" email, the
# manage page): plain words and the host, never "[Errno -2] Name or service not known".
# "No such name", and glibc's "no address for this name" (a name with no A/AAAA record).
_NAME_MISSING = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _lookup_failure(exc: BaseException, host: str) -> str:
    if isinstance(exc, UnicodeError):
        return f"{host} is not a valid host name"
    if getattr(exc, "errno", None) == socket.EAI_AGAIN:
        return f"the name {host} could not be looked up right now (DNS did not answer)"
    if getattr(exc, "errno", None) in _NAME_MISSING:
        return f"the name {host} does not exist (DNS lookup failed)"
    return f"the name {host} could not be looked up (DNS lookup failed)"


def connection_failure(exc: BaseException, host: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"could not connect to {host}: connection refused (nothing answers on that port)"
    if isinstance(exc, http.client.RemoteDisconnected):
        return f"{host} closed the connection without answering"
    if isinstance(exc, ConnectionResetError):
        return f"{host} reset the connection"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS connection to {host} failed ({exc.reason or 'handshake refused'})"
    if isinstance(exc, http.client.HTTPException):
        return f"{host} did not answer in HTTP ({type(exc).__name__})"
    # strerror is the text without its "[Errno n]" (None when the error has no errno).
    words = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"could not connect to {host}: {words[:1].lower()}{words[1:]}"


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


def _read_capped(response: http.client.HTTPResponse, *, limit: int) -> bytes:
    """At most ``limit`` bytes; the request's deadline bounds the time (_DeadlineReader)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = response.read1(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
