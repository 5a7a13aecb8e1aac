"""A real HTTP receiver for webhook tests: a threaded http.server on 127.0.0.1.

It records every request and answers from a script: a queue of (status, body, delay)
answers, then ``default``; or, when ``judge`` is set, with what it says of each request (a
receiver that checks the signature). ``stop()`` and ``start()`` on the same port play a
receiver that is down, then up again.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import wait_until
from tests.local_http import LocalHTTPServer, QuietHandler


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    trickle: float = 0.0  # seconds between the body's bytes (a slow-loris answer)


class Receiver(LocalHTTPServer):
    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.default = Answer()
        self.judge: Callable[[Received], Answer] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/outagewatch"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def start(self) -> Receiver:
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                received = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._lock:
                    receiver.received.append(received)
                    if receiver.judge:
                        answer = receiver.judge(received)
                    else:
                        answer = receiver.script.popleft() if receiver.script else receiver.default
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.send_body(answer.body, answer.trickle)

        self._serve(Handler)
        return self

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        return wait_until(
            lambda: len(self.received) >= count and list(self.received),
            timeout=timeout,
            what=f"{count} request(s) at the receiver",
        )
