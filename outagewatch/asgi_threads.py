"""An ASGI wrapper that runs each request's sync code on one of a fixed set of threads.

Django's ASGI handler runs a request's sync middleware and view in a thread-sensitive
context, and without more asgiref starts a new thread for every such context: a thread
started and joined per request, the largest single cost of a small request under the
production server (bench/load/README.md). Here each worker process keeps WEB_THREADS
single-thread executors and lends one to each request for its whole life (asgiref's
ThreadSensitiveContext with an executor): the same guarantees (one thread per request, so
Django's per-thread database connection and transactions behave as under WSGI), without the
thread start. A request waits on the event loop, at no thread's cost, while all are lent.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext

from outagewatch.asgi_guard import ASGIApp, Receive, Scope, Send


class RequestThreads:
    def __init__(self, app: ASGIApp, *, threads: int) -> None:
        self.app = app
        self.threads = threads
        self._executors: list[ThreadPoolExecutor] = []
        self._free: asyncio.Queue[ThreadPoolExecutor] | None = None

    def _pool(self) -> asyncio.Queue[ThreadPoolExecutor]:
        # Made on the first request, inside the worker's event loop (after the fork).
        if self._free is None:
            self._free = asyncio.Queue()
            for index in range(self.threads):
                executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{index}")
                self._executors.append(executor)
                self._free.put_nowait(executor)
        return self._free

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        free = self._pool()
        executor = await free.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            free.put_nowait(executor)
