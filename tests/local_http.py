"""What the tests' local HTTP doubles share (the webhook receiver, the fake status server):
a threaded http.server on 127.0.0.1 that can be stopped and started again on its port, and a
handler that can answer slowly, byte by byte."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import free_port


class QuietHandler(BaseHTTPRequestHandler):
    def send_body(self, body: bytes, trickle: float = 0.0) -> None:
        """The body, at once or one byte every `trickle` seconds (a slow-loris answer); the
        client may stop reading (its timeout or size cap), which is not an error here."""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if not trickle:
                self.wfile.write(body)
                return
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(trickle)

    def log_message(self, *args) -> None:  # quiet
        pass


class LocalHTTPServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
