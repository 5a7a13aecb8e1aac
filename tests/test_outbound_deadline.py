"""outagewatch.outbound: one deadline for the whole exchange, against a real server on
loopback that trickles its answer a byte at a time (each byte well within a read timeout).

Before, only the body had a deadline: headers trickled one byte every 2 s held a worker
for as long as the server liked (REPRO 2: still hanging after 120 s with timeout=3).
The ``< 10`` bounds guard against a hang coming back; they time nothing finer.
"""

from __future__ import annotations

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
