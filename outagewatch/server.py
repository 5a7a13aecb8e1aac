"""The uvicorn worker class gunicorn runs (outagewatch/gunicorn_conf.py)."""

from __future__ import annotations

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
