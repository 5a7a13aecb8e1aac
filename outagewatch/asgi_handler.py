"""Django's ASGI handler with the middleware chain and the view run in one thread hop.

Django's own ASGI handler builds the middleware chain in async mode. Every middleware here
is synchronous (Django's and OutageWatch's own), so Django adapts the chain at each boundary:
the outer sync middleware run in a thread (sync_to_async), the inner async handler is called
back on the event loop (async_to_sync), and it runs the sync view in the thread again
(sync_to_async). Each switch is a future, a wake-up of the loop and a thread handoff under
the GIL; under load they cost more CPU than a small view (bench/load/README.md, "One thread
hop per request").

Here the chain is built in sync mode, as under WSGI, and the whole of it runs in one
sync_to_async call, on the request's thread (outagewatch.asgi_threads): the same thread
for middleware, view and the database connection, as before. Everything else (reading the
body, sending the answer, disconnects, request_started/finished) is Django's ASGI handler.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # BaseHandler.get_response: the URLconf, the chain, error logging, closers, in sync.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
