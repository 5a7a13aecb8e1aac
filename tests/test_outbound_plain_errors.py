"""Outbound failures in plain words: they reach people (a delivery's last error, the
"channel disabled" email), so no "[Errno -2] Name or service not known"."""

from __future__ import annotations

import socket

import pytest

from outagewatch import outbound
from tests.conftest import free_port


def _post(url: str, *, timeout: float = 2.0) -> str:
    with pytest.raises(outbound.OutboundError) as raised:
        outbound.request(
            "POST", url, headers={}, body=b"{}", timeout=timeout, max_bytes=100,
            allow_loopback=True,
        )  # fmt: skip
    return str(raised.value)


@pytest.mark.parametrize(
    ("errno", "words"),
    [
        (socket.EAI_NONAME, "the name hooks.example.invalid does not exist (DNS lookup failed)"),
        (
            socket.EAI_AGAIN,
            "the name hooks.example.invalid could not be looked up right now (DNS did not answer)",
        ),
    ],
)
def test_a_failed_name_lookup_is_told_in_plain_words(monkeypatch, errno, words):
    def lookup(*args, **kwargs):
        raise socket.gaierror(errno, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    assert _post("https://hooks.example.invalid/x") == words


def test_a_refused_connection_is_told_in_plain_words():
    message = _post(f"http://127.0.0.1:{free_port()}/x")
    assert message == (
        "could not connect to 127.0.0.1: connection refused (nothing answers on that port)"
    )
    assert "Errno" not in message


def test_a_timeout_says_after_how_long(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts, never answers
    try:
        message = _post(f"http://127.0.0.1:{listener.getsockname()[1]}/x", timeout=0.3)
    finally:
        listener.close()
    assert message == "timed out after 0.3 s: no complete answer from 127.0.0.1"


def test_a_delivery_error_keeps_the_transports_plain_words():
    from alerts.channels import TransportError
    from alerts.services.outbox import error_text

    words = "the name hooks.example.invalid does not exist (DNS lookup failed)"
    assert error_text(TransportError(words, permanent=False)) == words
