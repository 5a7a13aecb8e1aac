"""An ASGI wrapper that bounds request bodies before Django reads them.

Django's ASGI handler reads the whole body (spooling large ones to disk) before any
middleware runs. Here a body is read on the event loop, where a slow client costs a
coroutine rather than a worker: at most REQUEST_BODY_MAX_BYTES (413 beyond), and within
REQUEST_BODY_TIMEOUT_SECONDS (408 after), so a trickling upload cannot hold resources forever.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{status}: not read - OutageWatch</title></head><body>"
    "<h1>We could not read what you sent</h1><p>{detail} Nothing was saved: go back, shorten "
    'it and send it again.</p><p><a href="/">OutageWatch home</a></p></body></html>\n'
)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, send, 413, "Request body is too large.", "payload_too_large")
            return
        try:
            messages = await asyncio.wait_for(self._read(receive), self.timeout)
        except TimeoutError:
            await _refuse(scope, send, 408, "Request body took too long.", "request_timeout")
            return
        except _TooLarge:
            await _refuse(scope, send, 413, "Request body is too large.", "payload_too_large")
            return
        if declared is None:
            # A chunked body has no Content-Length, and Django's ASGI request then reads it as
            # empty: now that it is all here, say how long it is.
            size = sum(len(m.get("body", b"")) for m in messages if m["type"] == "http.request")
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"transfer-encoding"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(size).encode())]}
        await self.app(scope, _replay(messages, receive), send)

    async def _read(self, receive: Receive) -> list[Message]:
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away: let Django see the disconnect
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                raise _TooLarge
            if not message.get("more_body", False):
                return messages


class _TooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()  # after the body: wait for a disconnect, as Django expects

    return replayed


async def _refuse(scope: Scope, send: Send, status: int, detail: str, code: str) -> None:
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps({"detail": detail, "code": code}).encode()
        content_type = b"application/json"
    else:
        # The site's other errors are pages: a visitor whose form was refused reads one too.
        # Self-contained (no stylesheet: the policy below loads nothing).
        body = _PAGE.format(status=status, detail=html.escape(detail)).encode()
        content_type = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        # The same protections as every page (SecurityHeadersMiddleware), which these
        # answers never reach: they carry nothing that needs to load anything.
        (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
        (b"x-content-type-options", b"nosniff"),
        (b"date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
