"""Two real `celery beat` processes on the test Redis: the first leads and records its
heartbeat, the second stands by sending nothing, and takes over when the first stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from outagewatch.beat_lease import STANDBY_POLL_SECONDS, heartbeat_read
from tests.conftest import wait_until

BASE_DIR = Path(__file__).resolve().parents[1]
CELERY = Path(sys.executable).parent / "celery"

pytestmark = pytest.mark.django_db  # none read: only the test Redis's cache is cleared


def _beat(name: str, tmp_path: Path, redis_url: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "owtest",  # the tests' cache: heartbeat_read() sees its keys
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # beat reads none
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        str(CELERY), "-A", "outagewatch", "beat", "--loglevel=INFO",
        f"--schedule={tmp_path / name}", f"--pidfile={tmp_path / name}.pid",
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    return process, log


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_a_second_beat_stands_by_then_takes_over(tmp_path, redis_url):
    first, first_log = _beat("first", tmp_path, redis_url)
    second = None
    try:
        heartbeat = wait_until(
            lambda: heartbeat_read()[0], timeout=60, interval=0.2, what="the first's heartbeat"
        )
        assert f"pid {first.pid} " in heartbeat.by
        assert "Beat leads" in first_log.read_text()

        second, second_log = _beat("second", tmp_path, redis_url)
        wait_until(
            lambda: "Beat on standby" in second_log.read_text(),
            timeout=60,
            interval=0.2,
            what="the second's standby line",
        )
        assert heartbeat_read()[1] is not None  # the health check names it

        _stop(first)  # a clean stop gives the lease up
        wait_until(
            lambda: "Beat leads" in second_log.read_text(),
            timeout=STANDBY_POLL_SECONDS + 15,
            interval=0.2,
            what="the second's takeover",
        )
        wait_until(
            lambda: f"pid {second.pid} " in heartbeat_read()[0].by,
            timeout=10,
            interval=0.2,
            what="the second's heartbeat",
        )
        log = second_log.read_text()
        assert log.count("Beat on standby") == 1
        # Nothing sent while it stood by.
        assert "Sending due task" not in log[: log.index("Beat leads")]
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
