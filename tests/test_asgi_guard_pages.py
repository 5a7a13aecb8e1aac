"""The body guard's refusals in front of Django: JSON under /api/, a page on the website."""

from __future__ import annotations

import asyncio

import pytest

from outagewatch.asgi_guard import BodyLimit


async def _never(scope, receive, send):  # the guard answers before the app is reached
    raise AssertionError("the app must not run")


def _refused(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"x" * 50, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", b"50")],
    }
    asyncio.run(BodyLimit(_never, max_bytes=10, timeout=5)(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def test_a_website_form_too_large_gets_a_page():
    status, headers, body = _refused("/services/acme/")
    assert status == 413
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h1>We could not read what you sent</h1>" in body
    assert b"Request body is too large. Nothing was saved" in body
    assert int(headers[b"content-length"]) == len(body)


@pytest.mark.parametrize("path", ["/api/v1/reports/", "/api/v1/subscriptions/"])
def test_an_api_body_too_large_gets_the_json_error(path):
    status, headers, body = _refused(path)
    assert (status, headers[b"content-type"]) == (413, b"application/json")
    assert body == b'{"detail": "Request body is too large.", "code": "payload_too_large"}'
