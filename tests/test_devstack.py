"""`make run`'s launcher: the set-up steps run with a Redis answering, so loading the catalog
announces its edits instead of logging that it could not."""

from __future__ import annotations

import re
import shutil
import socket

import pytest

from outagewatch import devstack
from tests.conftest import free_port

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
    monkeypatch.setattr(devstack.os, "execve", lambda path, argv, env: started.append(argv))
    monkeypatch.setattr(devstack.os, "chdir", lambda path: None)
    in_use = devstack.port_in_use
    monkeypatch.setattr(devstack, "port_in_use", lambda p, host="": p != 8000 and in_use(p))
    monkeypatch.delenv("WEB_BIND", raising=False)

    devstack.main([])

    assert answered == [True]
    # The set-up's Redis is stopped, so the supervised one can take the port.
    assert not devstack.port_in_use(port)
    (argv,) = started
    assert argv[1:4] == ["start", "-f", "Procfile"] and argv[4] == "redis"


def test_setup_only_uses_a_redis_that_already_answers_and_starts_nothing(monkeypatch, redis_url):
    monkeypatch.setenv("REDIS_URL", redis_url)
    answered: list[bool] = []
    monkeypatch.setattr(
        devstack, "setup", lambda env: answered.append(devstack.redis_answers(redis_url))
    )
    monkeypatch.setattr(devstack.os, "execve", lambda *args: pytest.fail("started the stack"))

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
    monkeypatch.setattr(devstack.os, "execve", lambda path, argv, env: started.append(env))
    monkeypatch.setattr(devstack.os, "chdir", lambda path: None)

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
