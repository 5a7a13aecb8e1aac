"""Django's ASGI handler with all of a request's sync work in one thread hop.

Django's own ASGI handler builds the middleware chain in async mode. Every middleware here
is synchronous (Django's and OutageWatch's own), so Django adapts the chain at each boundary:
the outer sync middleware run in a thread (sync_to_async), the inner async handler is called
back on the event loop (async_to_sync), and it runs the sync view in the thread again
(sync_to_async). Around that, the request_started signal's receivers and `response.close()`
(which sends request_finished) are two more sync_to_async calls, and two tasks per request
watch for a client disconnect. Each switch is a future, a wake-up of the loop and a thread
handoff under the GIL; under load they cost more CPU than a small view (bench/load/README.md,
"One thread hop per request").

Here the chain is built in sync mode, as under WSGI, and one sync_to_async call, on the
request's thread (outagewatch.asgi_threads), does request_started, the request, the chain
and view, and, for an answer already in memory, `close()`: the same thread for all of it
and the database connection, as before. The event loop reads the body and sends the answer.

A streamed answer with a sync iterator (a FileResponse: every static file WhiteNoise serves,
as WhiteNoise has no async middleware) is handed to the loop as an async iterator whose parts
are read on the request's thread. Django would otherwise read all of it into a list in one
more hop, with a warning ("StreamingHttpResponse must consume synchronous iterators").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import set_script_prefix


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    def respond(self, scope: dict, body_file) -> HttpResponseBase:
        """Everything of a request that runs on its thread, in the order Django's handler
        runs it."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error = self.create_request(scope, body_file)
        # BaseHandler.get_response: the URLconf, the chain, error logging, in sync.
        response = self.get_response(request) if request is not None else error
        assert response is not None  # create_request answers what it cannot make a request of
        # As Django's run_get_response: request_finished names this handler as its sender,
        # and files go out in the server's chunk size. (Any: an attribute the stubs lack.)
        cast(Any, response)._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            # The body is in memory: close now (request_finished returns the database
            # connection to the pool) rather than in one more hop after sending it.
            response.close()
        elif isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = self.parts_for_loop(response)
        return response

    def parts_for_loop(self, response: StreamingHttpResponse) -> AsyncIterator[bytes]:
        """The parts of a sync stream for the event loop, each read on the request's thread.

        A file's first chunk_size bytes are read here, already on that thread: a static file
        is rarely larger, so it costs no hop at all. Other streams (a generator that waits
        for its data) are not read ahead, so each part goes out as soon as it is made.
        """
        # A sync stream (respond() calls this only when not is_async).
        parts = iter(cast(Iterator[bytes], response.streaming_content))
        head: list[bytes] = []
        if isinstance(response, FileResponse):
            size = 0
            for part in parts:
                head.append(part)
                size += len(part)
                if size >= self.chunk_size:
                    break
            else:
                return _parts(head, None)
        return _parts(head, parts)

    async def handle(self, scope, receive, send) -> None:
        # Django's handle() without its disconnect watch: that cancels the task awaiting a
        # view, but a sync view runs to its end in its thread regardless, and sending to a
        # client that has gone is a no-op for the server.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self.respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()


async def _parts(head: list[bytes], rest: Iterator[bytes] | None) -> AsyncIterator[bytes]:
    for part in head:
        yield part
    if rest is None:
        return
    # thread_sensitive: the request's own thread (outagewatch.asgi_threads), where a
    # generator reading the database finds the connection it was made with.
    step = sync_to_async(_next_or_end, thread_sensitive=True)
    while (chunk := await step(rest)) is not None:
        yield chunk


def _next_or_end(parts: Iterator[bytes]) -> bytes | None:
    # None for the end: Django's streaming_content gives bytes only.
    return next(parts, None)
