"""detection.cache.cached_read on the real Redis: one computation per process for a value
many requests want at once (the first seconds after each tick), never a wait on itself."""

from __future__ import annotations

import threading
import time

import pytest

from detection import cache as read_cache
from detection.cache import cached_read, data_version_bump


@pytest.fixture(autouse=True)
def _fresh_version():
    data_version_bump()  # nothing cached under it yet


def test_concurrent_reads_of_one_value_compute_it_once():
    calls = []
    start = threading.Barrier(8)
    results = []

    def compute():
        calls.append(1)
        time.sleep(0.3)  # long enough for every thread to arrive while it runs
        return {"answer": 42}

    def request():
        start.wait()
        results.append(cached_read("giant-page", compute))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == [{"answer": 42}] * 8
    assert len(calls) == 1
    assert len(read_cache._key_locks) == 0  # forgotten once nobody holds or waits


def test_a_value_built_from_other_cached_values_never_waits_on_itself():
    def inner():
        return cached_read("inner", lambda: 1) + cached_read("inner-too", lambda: 2)

    done = []
    t = threading.Thread(target=lambda: done.append(cached_read("outer", inner)))
    t.start()
    t.join(timeout=10)
    assert done == [3]


def test_a_computation_that_fails_leaves_the_next_one_free():
    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cached_read("flaky", broken)
    assert cached_read("flaky", lambda: "fine") == "fine"
    assert len(read_cache._key_locks) == 0
