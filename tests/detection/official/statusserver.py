"""A fake status server for the official status tests: a threaded http.server on 127.0.0.1.

It serves recorded payloads (``payloads/``, written by hand from the published formats) at
paths the test sets, honours ETag / Last-Modified like the real pages (304 when the client
sends them back), and can misbehave on purpose: redirect, trickle its body byte by byte,
answer with huge bodies. It records every request so tests can see the conditional headers
and count requests per host.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import free_port

PAYLOADS = Path(__file__).with_name("payloads")


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


@dataclass(frozen=True)
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    etag: str = ""
    last_modified: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    trickle: float = 0.0  # seconds between the body's bytes (a slow-loris answer)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names in lower case


class StatusServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, page: Page) -> str:
        with self._lock:
            self.pages[path] = page
        return self.url(path)

    def start(self) -> StatusServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Request(self.path, headers))
                    page = server.pages.get(self.path, Page(b"not found", status=404))
                if _not_modified(page, headers):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                if page.etag:
                    self.send_header("ETag", page.etag)
                if page.last_modified:
                    self.send_header("Last-Modified", page.last_modified)
                for name, value in page.headers:
                    self.send_header(name, value)
                self.end_headers()
                # The poller may stop reading (size cap, deadline).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    if not page.trickle:
                        self.wfile.write(page.body)
                        return
                    for i in range(len(page.body)):
                        self.wfile.write(page.body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(page.trickle)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _not_modified(page: Page, headers: dict[str, str]) -> bool:
    if page.status != 200:
        return False
    if page.etag and headers.get("if-none-match") == page.etag:
        return True
    return bool(page.last_modified and headers.get("if-modified-since") == page.last_modified)
