"""The production server's worker hook (outagewatch/gunicorn_conf.py)."""

import gc
import importlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import get_resolver

from tests.conftest import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parents[1]


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_reach():
    conf = importlib.import_module("outagewatch.gunicorn_conf")
    gc.unfreeze()
    try:
        conf.post_worker_init(worker=None)
        # The URLconf's views were imported before the freeze, and are in it.
        assert gc.get_freeze_count() > 10_000
        assert get_resolver()._populated  # reverse() has its lookup before the first request
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be at least 1, not 0."),
        ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY must be a whole number, not 'two'."),
        ("WEB_TIMEOUT", "30s", "WEB_TIMEOUT must be a whole number, not '30s'."),
    ],
)
def test_a_bad_number_stops_start_up_naming_it(monkeypatch, name, value, message):
    """WEB_CONCURRENCY=0 listened and never answered (newcomer tester F5)."""
    conf = importlib.import_module("outagewatch.gunicorn_conf")
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=re.escape(message)):
        importlib.reload(conf)
    monkeypatch.setenv(name, "3")
    assert importlib.reload(conf).workers == 3 or conf.timeout == 3
    monkeypatch.delenv(name)
    importlib.reload(conf)


@pytest.mark.parametrize("bind", ["unix:/run/outagewatch.sock", "fd://3"])
def test_a_unix_socket_is_refused_with_a_reason(monkeypatch, bind):
    conf = importlib.import_module("outagewatch.gunicorn_conf")

    monkeypatch.setenv("WEB_BIND", bind)
    with pytest.raises(SystemExit, match="every reporter would count as one network"):
        importlib.reload(conf)
    monkeypatch.delenv("WEB_BIND")
    assert importlib.reload(conf).bind == "127.0.0.1:8000"


def test_a_stop_is_quiet_and_a_killed_worker_is_still_an_error(tmp_path):
    # uvicorn re-raises the SIGTERM it shut down on; a worker dying of it made the arbiter log
    # "[ERROR] Worker (pid:…) was sent SIGTERM!" on every stop (make run's Ctrl-C, a deploy).
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DEBUG": "1",
        "WEB_BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "2",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                "python:outagewatch.gunicorn_conf",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = "Application startup complete"
        wait_until(lambda: log.read_text().count(ready) == 2, timeout=60, what="two workers")
        # A worker that dies of anything but the stop it was asked for is still an error.
        pid = int(re.findall(r"Booting worker with pid: (\d+)", log.read_text())[0])
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: log.read_text().count(ready) == 3, timeout=60, what="its successor")

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    errors = [line for line in log.read_text().splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and f"Worker (pid:{pid}) was sent SIGKILL!" in errors[0]
