"""Running test work in real threads at once, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(count: int, work: Callable[[int], Any]) -> tuple[list, list]:
    """work(i) in `count` threads released together by a barrier, each closing its own
    connections at its end: (results, errors), an exception in place of each failed result."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException | None] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # handed to the test
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


class Paused:
    """work() in a thread of its own (its own connections), stopped where it calls `point()`
    (from a function the test patches) until `release()`: the interleaving a race needs,
    every time, while the test runs the other side."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.reached, self._go_on = threading.Event(), threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,))

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._result = work()
        except BaseException as exc:  # handed to the test by release()
            self._error = exc
        finally:
            connections.close_all()

    def point(self) -> None:
        """Wait here until released, if called from the paused thread (others go on)."""
        if threading.current_thread() is self._thread:
            self.reached.set()
            self._go_on.wait(30)

    def start(self) -> Paused:
        """Start the thread and wait until it reaches its point."""
        self._thread.start()
        assert self.reached.wait(30), "the paused work never reached its point"
        return self

    def release(self) -> Any:
        """Let it go on; what it returned (what it raised is raised here)."""
        self._go_on.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result
