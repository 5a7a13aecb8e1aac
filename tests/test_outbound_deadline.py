"""outagewatch.outbound: one deadline for the whole exchange, against a real server on
loopback that trickles its answer a byte at a time (each byte well within a read timeout).

Before, only the body had a deadline: headers trickled one byte every 2 s held a worker
for as long as the server liked (REPRO 2: still hanging after 120 s with timeout=3).
The ``< 10`` bounds guard against a hang coming back; they time nothing finer.

The name lookup is inside the deadline too. A resolver that does not answer cannot be built
on loopback, so those tests stand a slow socket.getaddrinfo in for it (SlowResolver).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from outagewatch import outbound
from tests.trickling import TricklingServer, TricklingTLSServer


@pytest.fixture
def trickling() -> Iterator[type]:
    started: list[TricklingServer] = []

    def make(kind: type[TricklingServer] = TricklingServer, **kw) -> TricklingServer:
        server = kind(**kw).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def _request(url: str, *, timeout: float = 1) -> outbound.Response:
    return outbound.request(
        "POST",
        url,
        headers={"Content-Type": "application/json"},
        body=b"{}",
        timeout=timeout,
        max_bytes=1000,
        allow_loopback=True,
    )


@pytest.mark.parametrize(
    "at_once",
    [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nX-Fast: 1\r\n", b""],
    ids=["headers-trickled", "more-headers-trickled", "status-line-trickled"],
)
def test_an_answer_trickled_before_its_body_is_cut_off_at_the_deadline(trickling, at_once):
    server = trickling(at_once=at_once, gap=0.3)
    started = time.monotonic()

    with pytest.raises(outbound.OutboundTimeout) as slow:
        _request(server.url(), timeout=1)

    assert time.monotonic() - started < 10  # it returned: no hang
    assert server.connections == 1
    assert not slow.value.permanent  # worth another attempt later
    assert isinstance(slow.value, outbound.OutboundError)  # callers catch it as before
    assert "timed out" in str(slow.value).lower()


def test_a_tls_handshake_trickled_is_cut_off_at_the_deadline(trickling):
    server = trickling(TricklingTLSServer, gap=0.3)
    started = time.monotonic()

    with pytest.raises(outbound.OutboundTimeout) as slow:
        _request(server.url("https"), timeout=1)

    assert time.monotonic() - started < 10
    assert not slow.value.permanent


SLOW_NAME = "hooks.slow-resolver.test"


class SlowResolver:
    """socket.getaddrinfo answering SLOW_NAME only after 5 s or release(), as a resolver
    whose nameservers do not answer would; other names resolve as usual. The answer is
    loopback on a port nobody listens on, so a client that waited for it fails at once
    afterwards, "refused" rather than timed out."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self._released = threading.Event()
        self._real = socket.getaddrinfo
        with socket.create_server(("127.0.0.1", 0)) as listener:
            self._closed_port = listener.getsockname()[1]

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host != SLOW_NAME:
            return self._real(host, port, *args, **kwargs)
        self.asked.append(host)
        self._released.wait(5)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", self._closed_port))]

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def slow_resolver(monkeypatch) -> Iterator[SlowResolver]:
    resolver = SlowResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    yield resolver
    resolver.release()  # lookups left running end now and give their slots back


def test_a_name_lookup_that_hangs_is_cut_off_at_the_deadline(slow_resolver):
    # Before, the lookup ran outside the deadline: the request waited out the resolver's
    # 5 s and then failed as "refused", not as a timeout.
    started = time.monotonic()

    with pytest.raises(outbound.OutboundTimeout) as slow:
        _request(f"http://{SLOW_NAME}/hooks/outagewatch", timeout=0.5)

    assert time.monotonic() - started < 3  # the deadline, not the resolver's 5 s
    assert slow_resolver.asked == [SLOW_NAME]
    assert not slow.value.permanent
    assert "timed out" in str(slow.value).lower()


def test_lookups_left_running_are_bounded_and_give_their_slot_back(
    slow_resolver, monkeypatch, trickling
):
    monkeypatch.setattr(outbound, "_LOOKUP_SLOTS", threading.BoundedSemaphore(1))
    with pytest.raises(outbound.OutboundTimeout):
        _request(f"http://{SLOW_NAME}/first", timeout=0.3)  # its lookup keeps the one slot

    # No slot free: the next request times out without starting another lookup.
    with pytest.raises(outbound.OutboundTimeout):
        _request(f"http://{SLOW_NAME}/second", timeout=0.3)
    assert slow_resolver.asked == [SLOW_NAME]

    slow_resolver.release()  # the first lookup ends, late: its slot is free again
    server = trickling(gap=0.3)
    with pytest.raises(outbound.OutboundTimeout):  # looked up, connected, then cut off
        _request(server.url(), timeout=1)
    assert server.connections == 1
