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
