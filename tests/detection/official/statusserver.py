"""A fake status server for the official status tests: a threaded http.server on 127.0.0.1.

It serves recorded payloads (``payloads/``, written by hand from the published formats) at
paths the test sets, honours ETag / Last-Modified like the real pages (304 when the client
sends them back), and can misbehave on purpose: redirect, trickle its body byte by byte,
answer with huge bodies. It records every request so tests can see the conditional headers
and count requests per host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.local_http import LocalHTTPServer, QuietHandler

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


class StatusServer(LocalHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, page: Page) -> str:
        with self._lock:
            self.pages[path] = page
        return self.url(path)

    def start(self) -> StatusServer:
        server = self

        class Handler(QuietHandler):
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
                self.send_body(page.body, page.trickle)

        self._serve(Handler)
        return self


def _not_modified(page: Page, headers: dict[str, str]) -> bool:
    if page.status != 200:
        return False
    if page.etag and headers.get("if-none-match") == page.etag:
        return True
    return bool(page.last_modified and headers.get("if-modified-since") == page.last_modified)
