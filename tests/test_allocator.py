"""The detector's process keeps the memory it frees (outagewatch/allocator.py).

Each check runs in a fresh interpreter: the setting is process-wide and for good, and the
test process may have made it already (an in-process detect_minute does)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from outagewatch import allocator

glibc = pytest.mark.skipif(allocator._glibc() is None, reason="glibc's malloc only")

# Allocate, touch and free 256 MB as numpy does (malloc), then again: RSS after the free and
# the page faults of the second touch tell whether the memory stayed with the process.
_PROBE = """
import json, resource, sys
import numpy as np
from outagewatch.allocator import keep_freed_memory

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

kept = keep_freed_memory(enabled=sys.argv[1] == "1")
again = keep_freed_memory(enabled=sys.argv[1] != "1")
a = np.ones(32 * 2**20)
touched = rss()
del a
freed = rss()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(32 * 2**20)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"kept": kept, "again": again, "dropped_mb": touched - freed, "faults": faults}))
"""


def _probe(enabled: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, "1" if enabled else "0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@glibc
def test_freed_memory_stays_with_the_process_and_is_reused_without_faults():
    probe = _probe(enabled=True)
    assert probe["kept"] is True
    assert probe["again"] is True  # the first call's answer holds for the process
    assert probe["dropped_mb"] < 16, probe  # 256 MB freed, still resident
    assert probe["faults"] < 1000, probe  # the second array lands on pages already there


@glibc
def test_switched_off_the_process_gives_freed_memory_back_as_before():
    probe = _probe(enabled=False)
    assert probe["kept"] is False
    assert probe["again"] is False
    assert probe["dropped_mb"] > 200, probe  # glibc's own mmap, unmapped on free


def test_the_detectors_tasks_ask_for_it_first(monkeypatch, settings):
    """Only the detector runs these (their own queue), so it is its process that keeps."""
    from detection import tasks

    asked = []
    monkeypatch.setattr(tasks, "keep_freed_memory", lambda **kw: asked.append(kw))
    monkeypatch.setattr(tasks.services, "tick_prime", lambda: 0)
    monkeypatch.setattr("detection.services.simulate.tick_paused", lambda: True)
    settings.DETECTOR_KEEP_FREED_MEMORY = False
    tasks.detector_prime()
    tasks.detect_minute()
    assert asked == [{"enabled": False}, {"enabled": False}]
