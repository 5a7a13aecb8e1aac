"""The uvicorn worker class gunicorn runs (outagewatch/gunicorn_conf.py)."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from uvicorn_worker import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    # uvicorn would rewrite the client address from X-Forwarded-For for peers it trusts
    # (127.0.0.1 by default): a forged header from any local or proxied client would then
    # count as another network. The app decides that itself from TRUSTED_PROXIES
    # (outagewatch.clients), so the server passes the TCP peer through untouched.
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "server_header": False,
    }

    def init_signals(self) -> None:
        super().init_signals()
        # uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again
        # for the program around it to act on (its "cooperative signal handling"). With the
        # default action the worker then dies by that signal, and the arbiter logs a stop it
        # asked for as "[ERROR] Worker (pid:…) was sent SIGTERM!" on every restart, deploy
        # and Ctrl-C. The program around it is this worker, whose stop is done by then: it
        # exits 0, as gunicorn's own workers do. The same handler ends a worker still
        # booting at once, before uvicorn has taken these signals over.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._exit_stopped)

    def _exit_stopped(self, signum: int, frame: FrameType | None) -> None:
        sys.exit(0)
