"""A slow-loris HTTP server for the outbound tests: it reads the request, sends ``at_once``
(by default the status line), then answers one byte every ``gap`` seconds for as long as
the client listens (the rest of the status line, then headers that never end). Each byte
comes well within any per-read timeout, so only a deadline for the whole exchange can stop
the client."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Iterator


class TricklingServer:
    def __init__(self, *, gap: float = 0.3, at_once: bytes = b"HTTP/1.1 200 OK\r\n") -> None:
        self.gap = gap
        self.at_once = at_once
        self.connections = 0
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # the accept loop looks at _stopping this often
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/hooks/outagewatch"

    def start(self) -> TricklingServer:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def answer(self) -> Iterator[bytes]:
        """What is sent after ``at_once``, a byte at a time; overridden for TLS."""
        yield from (bytes([b]) for b in b"HTTP/1.1 200 OK\r\n"[len(self.at_once) :])
        for _ in itertools.count():
            yield from (bytes([b]) for b in b"X-Slow: a\r\n")

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        # The client hanging up (its deadline) ends the answer: not an error here.
        with connection, contextlib.suppress(OSError):
            connection.settimeout(2)
            if self.reads_request:
                connection.recv(65536)
            connection.sendall(self.at_once)
            for byte in self.answer():
                if self._stopping.wait(self.gap):
                    return
                connection.sendall(byte)

    reads_request = True


class TricklingTLSServer(TricklingServer):
    """Trickles the TLS handshake instead: a record header that promises 16 KB of
    handshake, then its bytes one by one, so the client's handshake never completes."""

    reads_request = False  # a TLS client speaks first, but waits for our answer

    def __init__(self, *, gap: float = 0.3) -> None:
        super().__init__(gap=gap, at_once=b"")

    def answer(self) -> Iterator[bytes]:
        yield from (bytes([b]) for b in b"\x16\x03\x03\x40\x00")
        for _ in range(16384):
            yield b"\x00"
