"""CPU per request of Django's ASGI handler against outagewatch.asgi_handler, in process.

    .venv/bin/python bench/load/handler_cpu.py                  # 32 at once, 32 threads
    .venv/bin/python bench/load/handler_cpu.py --concurrency 1

Both serve the load benchmark's constant DRF view (bench.load.urls) through the production
stack's request threads (outagewatch.asgi_threads), alternating, in one process: no network,
no wrk, so the figure is the handler's own cost, which the load benchmark's noise hides.
Prints process CPU and wall time per request (bench/load/README.md, "One thread hop").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = "/api/bench/constant/"


def http_scope(path: str, *, host: bytes = b"127.0.0.1") -> dict:
    """The ASGI scope of a plain GET of path, as the server hands it to the application."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host)],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 443),
    }


async def _serve(app, requests: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            sent = False

            async def receive() -> dict:
                nonlocal sent
                if sent:  # no disconnect while the answer is made
                    await asyncio.Event().wait()
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}

            statuses: list[int] = []

            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await app(http_scope(PATH), receive, send)
            if statuses != [200]:
                raise SystemExit(f"unexpected answer {statuses}")

    await asyncio.gather(*(one() for _ in range(requests)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--threads", type=int, default=32, help="request threads (WEB_THREADS)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.load.settings",
        DEBUG="0",
        SECRET_KEY="handler-bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup(set_prefix=False)
    from django.core.handlers.asgi import ASGIHandler

    from outagewatch.asgi_handler import SyncChainASGIHandler
    from outagewatch.asgi_threads import RequestThreads

    apps = {
        "Django's ASGIHandler": RequestThreads(ASGIHandler(), threads=args.threads),
        "SyncChainASGIHandler": RequestThreads(SyncChainASGIHandler(), threads=args.threads),
    }

    async def run() -> None:
        for app in apps.values():  # warm-up: imports, threads, first requests
            await _serve(app, 200, args.concurrency)
        for _ in range(args.rounds):
            for name, app in apps.items():
                cpu, wall = time.process_time(), time.perf_counter()
                await _serve(app, args.requests, args.concurrency)
                cpu = (time.process_time() - cpu) / args.requests * 1e3
                wall = (time.perf_counter() - wall) / args.requests * 1e3
                print(f"{name:22s} CPU {cpu:.2f} ms/request, wall {wall:.2f} ms/request")

    asyncio.run(run())


if __name__ == "__main__":
    main()
