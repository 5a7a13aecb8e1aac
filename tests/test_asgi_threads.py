"""The production server's request threads: reused, one per request, never more than set."""

from __future__ import annotations

import asyncio
import threading
import time

from asgiref.sync import sync_to_async

from outagewatch.asgi_threads import RequestThreads


class SyncApp:
    """An ASGI app whose sync work (as Django's) records the thread it ran on."""

    def __init__(self) -> None:
        self.threads: dict[int, set[int]] = {}
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def work(self, request: int) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
            self.threads.setdefault(request, set()).add(threading.get_ident())

    async def __call__(self, scope, receive, send):
        # Two thread-sensitive calls per request, as Django makes (middleware chain, close).
        for _ in range(2):
            await sync_to_async(self.work, thread_sensitive=True)(scope["request"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _serve(app, requests: int) -> None:
    async def one(index: int) -> None:
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            return None

        await app({"type": "http", "request": index}, receive, send)

    await asyncio.gather(*(one(i) for i in range(requests)))


def test_requests_share_a_fixed_set_of_threads_one_thread_each():
    inner = SyncApp()
    app = RequestThreads(inner, threads=3)
    asyncio.run(_serve(app, 12))
    assert len(inner.threads) == 12
    assert all(len(used) == 1 for used in inner.threads.values())  # thread-sensitive
    assert len(set().union(*inner.threads.values())) <= 3  # reused, never started per request
    assert inner.most_at_once == 3  # the others waited for a thread


def test_other_scopes_pass_straight_through():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(RequestThreads(inner, threads=1)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
