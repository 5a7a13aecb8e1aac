"""gunicorn settings for production: `gunicorn -c python:outagewatch.gunicorn_conf`.

gunicorn supervises the worker processes (restarts one that dies); each worker runs uvicorn's
event loop over the ASGI application, so slow clients cost a coroutine, not a worker.
Everything here can be overridden with gunicorn's own GUNICORN_CMD_ARGS or the variables below.
"""

import multiprocessing
import os

wsgi_app = "outagewatch.asgi:application"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
if bind.startswith(("unix:", "fd://")):
    # A unix socket's peer has no address: every reporter would be one network, counted once
    # per service a quarter-hour, and share one rate limit.
    raise SystemExit(
        f"WEB_BIND={bind}: serve on host:port (behind your proxy); over a unix socket the "
        "client's address is unknown, so every reporter would count as one network."
    )


def _at_least_one(name: str, default: int) -> int:
    """A whole-number setting of 1 or more, or start-up stops naming it, as the settings'
    numbers do: WEB_CONCURRENCY=0 gave a server that listened and never answered, and
    WEB_CONCURRENCY=two a traceback."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}.") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, not {value}.")
    return value


# One event-loop process per core: views run in threads, the loop only does I/O.
workers = _at_least_one("WEB_CONCURRENCY", multiprocessing.cpu_count())
worker_class = "outagewatch.server.UvicornWorker"
# A worker that stops answering its heartbeat for this long (seconds) is replaced.
timeout = _at_least_one("WEB_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5
# No access log: its lines start with the client's address, and OutageWatch never stores or
# logs one (README, "Trust and privacy"). Errors still go to stderr.
accesslog = None
errorlog = "-"


def post_worker_init(worker) -> None:
    """Freeze what the worker loaded (Django, the URLconf and every view, numpy, scikit-learn)
    out of the garbage collector's reach: a full collection walked those 200,000 objects for
    80-95 ms while holding the GIL, stalling every request of the process; that was the tail
    of the latency (bench/load/README.md, "Garbage collection")."""
    import gc

    from django.urls import get_resolver

    resolver = get_resolver()
    _ = resolver.url_patterns  # import the views now, not on the first request
    # Build reverse()'s lookup now: the first requests of a new worker (one restarted during
    # a flood gets dozens at once) each built it again, every thread on its own.
    _ = resolver.reverse_dict
    gc.collect()
    gc.freeze()
