"""`make run`'s launcher: the set-up steps run with a Redis answering, so loading the catalog
announces its edits instead of logging that it could not; the stack stops in order, and
cleanly, on Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from outagewatch import devstack
from outagewatch.procfile import read_procfile
from tests.conftest import free_port, wait_until

BASE_DIR = devstack.BASE_DIR

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server"
)


@needs_redis_server
def test_the_setup_redis_answers_inside_the_block_and_is_gone_after():
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with devstack.redis_for_setup(shutil.which("redis-server"), port):
        assert devstack.redis_answers(url)
    assert not devstack.port_in_use(port)


@needs_redis_server
def test_a_port_held_by_something_else_stops_with_a_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            pytest.raises(SystemExit, match=re.escape(f"could not start on 127.0.0.1:{port}")),
            devstack.redis_for_setup(shutil.which("redis-server"), port, timeout=5),
        ):
            pytest.fail("the block ran without a Redis")


@needs_redis_server
def test_setup_runs_while_the_local_redis_answers_and_the_stack_starts_its_own_after(
    monkeypatch,
):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setenv("REDIS_URL", url)
    answered: list[bool] = []
    monkeypatch.setattr(devstack, "setup", lambda env: answered.append(devstack.redis_answers(url)))
    started: list[list[str]] = []
    monkeypatch.setattr(devstack, "run_stack", lambda names, env: started.append(names) or 0)
    in_use = devstack.port_in_use
    monkeypatch.setattr(devstack, "port_in_use", lambda p, host="": p != 8000 and in_use(p))
    monkeypatch.delenv("WEB_BIND", raising=False)

    devstack.main([])

    assert answered == [True]
    # The set-up's Redis is stopped, so the supervised one can take the port.
    assert not devstack.port_in_use(port)
    (names,) = started
    assert names[0] == "redis"


def test_setup_only_uses_a_redis_that_already_answers_and_starts_nothing(monkeypatch, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    answered: list[bool] = []
    monkeypatch.setattr(
        devstack, "setup", lambda env: answered.append(devstack.redis_answers(redis_url))
    )
    monkeypatch.setattr(devstack, "run_stack", lambda *args: pytest.fail("started the stack"))

    devstack.main(["--setup-only"])

    assert answered == [True]


def test_a_failing_step_stops_with_its_name(monkeypatch):
    monkeypatch.setattr(devstack, "SETUP_STEPS", (("no_such_command",),))
    with pytest.raises(SystemExit, match=re.escape("`manage.py no_such_command` failed")):
        devstack.setup()


def test_web_bind_moves_the_development_web_server_and_its_links(monkeypatch, redis_url, capsys):
    web = free_port()
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{web}")
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setattr(devstack, "setup", lambda env: None)
    started: list[dict] = []
    monkeypatch.setattr(devstack, "run_stack", lambda names, env: started.append(env) or 0)

    devstack.main([])

    (env,) = started
    assert env["WEB_BIND"] == f"127.0.0.1:{web}"
    assert env["SITE_URL"] == f"http://127.0.0.1:{web}"
    assert f"web on http://127.0.0.1:{web}" in capsys.readouterr().out
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{busy}")
        with pytest.raises(SystemExit, match=f"Port {busy} on 127.0.0.1 is already in use"):
            devstack.main([])


def test_a_redis_database_another_stack_uses_is_refused(monkeypatch, redis_url):
    """Two `make run` stacks on one Redis database took each other's Celery tasks, with no
    word of it (newcomer tester F4)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.set(devstack.CLAIM_KEY, "/home/someone/other-clone", ex=60)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{free_port()}")
    monkeypatch.setattr(devstack, "setup", lambda env: pytest.fail("set up"))
    monkeypatch.setattr(devstack, "run_stack", lambda *args: pytest.fail("started the stack"))
    try:
        with pytest.raises(SystemExit) as refused:
            devstack.main([])
    finally:
        client.delete(devstack.CLAIM_KEY)
    assert str(refused.value).startswith(
        f"Redis at {redis_url} is in use by the OutageWatch stack in /home/someone/other-clone"
    )
    assert "make run, or stop the other." in str(refused.value)


def test_a_running_stack_marks_its_redis_database_and_clears_the_mark_after(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    with devstack.redis_claimed(redis_url):
        wait_until(lambda: client.get(devstack.CLAIM_KEY), timeout=5, what="the mark")
        assert client.get(devstack.CLAIM_KEY).decode() == f"{BASE_DIR}|{os.getpid()}"
        assert 0 < client.ttl(devstack.CLAIM_KEY) <= devstack.CLAIM_SECONDS
        assert devstack.redis_claimed_by(redis_url) is None  # its own mark is no other's
    assert client.get(devstack.CLAIM_KEY) is None


def test_a_second_stack_of_the_same_clone_is_refused_while_the_first_runs(monkeypatch, redis_url):
    """Only another clone's mark was refused: a second `make run` of the same clone on the
    same Redis database (another WEB_BIND) started and shared the first one's tasks."""
    import redis

    client = redis.Redis.from_url(redis_url)
    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        client.set(devstack.CLAIM_KEY, devstack.claim_mark(first.pid), ex=60)
        monkeypatch.setenv("REDIS_URL", redis_url)
        monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{free_port()}")
        monkeypatch.setattr(devstack, "setup", lambda env: pytest.fail("set up"))
        monkeypatch.setattr(devstack, "run_stack", lambda *args: pytest.fail("started"))
        with pytest.raises(SystemExit) as refused:
            devstack.main([])
    finally:
        first.kill()
        first.wait()
        client.delete(devstack.CLAIM_KEY)
    assert str(refused.value).startswith(
        f"Redis at {redis_url} is in use by the OutageWatch stack in {BASE_DIR} "
        f"(process {first.pid}, still running)"
    )


def test_a_mark_left_by_a_killed_stack_of_this_clone_does_not_refuse_its_restart(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        client.set(devstack.CLAIM_KEY, devstack.claim_mark(gone.pid), ex=60)
        assert devstack.redis_claimed_by(redis_url) is None
        # A mark of the earlier layout (the directory alone) of this clone: not another's.
        client.set(devstack.CLAIM_KEY, str(BASE_DIR), ex=60)
        assert devstack.redis_claimed_by(redis_url) is None
    finally:
        client.delete(devstack.CLAIM_KEY)


# Stands in for a stack process: says when it is up, and takes a moment to stop on SIGTERM.
STUB = textwrap.dedent(
    """
    import signal, sys, time

    name, exit_after = sys.argv[1], float(sys.argv[2])

    def stop(signum, frame):
        print(name, "stopping", flush=True)
        time.sleep(0.3)
        print(name, "done", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(name, "up", flush=True)
    time.sleep(exit_after)
    sys.exit(int(sys.argv[3]))
    """
)

# The runner as `make run` starts it, with the stack's stop order.
RUN = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from outagewatch import devstack
    from outagewatch.procfile import Runner

    stub, names = sys.argv[1], sys.argv[2].split(",")
    exits = dict(arg.split("=") for arg in sys.argv[3:])
    processes = [
        (name, f"{sys.executable} {stub} {name} {exits.get(name, '600 0').replace(':', ' ')}")
        for name in names
    ]
    runner = Runner(processes, env=os.environ, cwd=Path.cwd(), stop_order=devstack.STOP_ORDER)
    sys.exit(runner.run())
    """
)


def start_runner(tmp_path, names: list[str], *exits: str) -> tuple[subprocess.Popen, object]:
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        # Its own process group, as make and the runner are at a terminal: Ctrl-C signals
        # the whole group.
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, str(stub), ",".join(names), *exits],
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def lines_of(log) -> list[str]:
    # "HH:MM:SS name | text" -> "name | text"
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


def test_ctrl_c_stops_the_stack_in_order_and_exits_0(tmp_path):
    names = ["redis", "web", "worker", "detector", "beat"]
    proc, log = start_runner(tmp_path, names)
    wait_until(
        lambda: all(f"{name} up" in log.read_text() for name in names), timeout=20, what="all up"
    )

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C at the terminal does

    assert proc.wait(timeout=20) == 0
    lines = [" ".join(line.split()) for line in lines_of(log)]
    assert "system | Ctrl-C: stopping web, then beat and detector and worker, then redis" in lines
    assert lines[-1] == "system | OutageWatch stopped."

    def at(line: str) -> int:
        return lines.index(line)

    # The web server is gone before the Celery processes are asked, and they before Redis.
    celery = ["beat", "detector", "worker"]
    assert all(at("web | web done") < at(f"{name} | {name} stopping") for name in celery)
    assert all(at(f"{name} | {name} done") < at("redis | redis stopping") for name in celery)
    assert not any("error" in line.lower() for line in lines)


@pytest.mark.parametrize("status", [3, 0])
def test_a_process_that_ends_on_its_own_stops_the_rest_and_fails(tmp_path, status):
    # Even a clean exit is a failure here: the stack is incomplete without it.
    proc, log = start_runner(tmp_path, ["redis", "web", "worker"], f"worker=1:{status}")

    assert proc.wait(timeout=20) == 1
    lines = [" ".join(line.split()) for line in lines_of(log)]
    assert f"system | worker exited on its own with status {status}; stopping the rest" in lines
    assert "web | web done" in lines and "redis | redis done" in lines
    assert lines[-1] == (
        f"system | OutageWatch stopped: worker exited on its own with status {status}."
    )


def test_a_process_that_will_not_stop_is_killed_and_reported(tmp_path):
    stubborn = tmp_path / "stubborn.sh"
    stubborn.write_text("trap '' TERM; echo up; while :; do sleep 0.1; done\n")
    log = tmp_path / "run.log"
    run = (
        "import os, sys; from pathlib import Path; from outagewatch.procfile import Runner;"
        f"sys.exit(Runner([('stubborn', 'sh {stubborn}')], env=os.environ, cwd=Path.cwd(),"
        " stop_timeout=0.5).run())"
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", run], cwd=BASE_DIR, stdout=out, start_new_session=True
        )
    wait_until(lambda: "stubborn | up" in log.read_text(), timeout=20, what="the process up")

    os.killpg(proc.pid, signal.SIGTERM)

    assert proc.wait(timeout=20) == 1
    assert lines_of(log)[-1].endswith(
        "| OutageWatch stopped: stubborn did not stop within 0.5s; killed."
    )


def test_what_a_crashed_process_left_behind_in_its_group_is_stopped(tmp_path):
    # As gunicorn's workers outlive a master that was killed, holding port 8000.
    pid_file = tmp_path / "left.pid"
    crashing = f"sh -c 'sleep 600 & echo $! > {pid_file}; sleep 0.5; exit 3'"
    run = (
        "import os, sys; from pathlib import Path; from outagewatch.procfile import Runner;"
        f"sys.exit(Runner([('web', {crashing!r})], env=os.environ, cwd=Path.cwd()).run())"
    )
    done = subprocess.run([sys.executable, "-c", run], cwd=BASE_DIR, capture_output=True)

    assert done.returncode == 1
    status = Path(f"/proc/{pid_file.read_text().strip()}/status")
    wait_until(
        lambda: not status.exists() or "State:\tZ" in status.read_text(),
        timeout=5,
        what="the left-behind process ended",
    )


def test_the_procfile_names_every_process_the_stack_stops():
    names = set(read_procfile(BASE_DIR / "Procfile"))
    assert {name for stage in devstack.STOP_ORDER for name in stage} == names
