"""`make run`: make sure Redis answers, set up, then run web, worker, detector and beat.

The Procfile's processes run under outagewatch.procfile, which stops them all, in order, on
Ctrl-C. Redis joins the process set only when nothing answers on REDIS_URL already. The
set-up steps (migrate, the catalog, the official sources, the static files) run before the
processes start, with a Redis answering: loading the catalog announces its edits there, and
without one it logs that they went unannounced. When the stack's own Redis is to be started,
a short-lived one on the same port serves the set-up and is stopped before the stack starts
its own (nothing it held is needed: every process starts with a fresh catalog). The web
process is the production server (gunicorn over uvicorn workers, outagewatch/gunicorn_conf.py);
`--reload` (`make dev`) swaps in Django's development server, which reloads on code changes.
`--setup-only` (`make setup`) runs the set-up steps and stops.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import redis

from outagewatch.procfile import Runner, read_procfile

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SETUP_STEPS: tuple[tuple[str, ...], ...] = (
    ("migrate", "--noinput"),
    ("catalog_load",),
    ("official_sources_load",),
    ("collectstatic", "--noinput", "--verbosity", "0"),
)


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# A running stack marks the Redis database it uses (the mark lasts CLAIM_SECONDS unless
# renewed): a second stack on the same database took the first one's Celery tasks (looking
# their ids up in its own database) and paused its detector with `simulate history`. The mark
# names the clone and the process, so that a second `make run` of the same clone is refused
# too, while one restarted after its stack was killed (its mark not yet expired) is not.
CLAIM_KEY = "outagewatch:devstack:claim"
CLAIM_SECONDS = 90


def claim_mark(pid: int | None = None) -> str:
    """This stack's mark: its clone's directory and its process."""
    return f"{BASE_DIR}|{os.getpid() if pid is None else pid}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only whether it exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    return True


def redis_claimed_by(url: str) -> str | None:
    """Which other running stack uses this Redis database, if any: its clone's directory
    (and its process, when it is another stack of this clone)."""
    try:
        # bytes: this client does not decode responses (redis-py types them bytes | str)
        mark = cast(
            "bytes | None", redis.Redis.from_url(url, socket_connect_timeout=1).get(CLAIM_KEY)
        )
    except redis.RedisError:
        return None
    if not mark:
        return None
    owner, sep, pid = mark.decode().rpartition("|")
    if not sep:  # an earlier stack's mark: the directory alone
        owner, pid = pid, ""
    if owner != str(BASE_DIR):
        return owner
    if not pid.isdigit() or int(pid) == os.getpid() or not process_alive(int(pid)):
        return None
    return f"{owner} (process {pid}, still running)"


@contextmanager
def redis_claimed(url: str) -> Iterator[None]:
    """Mark the Redis database as this stack's while the block runs (renewed in a thread:
    a Redis the stack starts itself answers a moment after the block begins)."""
    stop = threading.Event()
    mark = claim_mark()

    def renew() -> None:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        while True:
            with suppress(redis.RedisError):
                client.set(CLAIM_KEY, mark, ex=CLAIM_SECONDS)
            if stop.wait(CLAIM_SECONDS / 3):
                break
        with suppress(redis.RedisError):
            if client.get(CLAIM_KEY) == mark.encode():
                client.delete(CLAIM_KEY)

    thread = threading.Thread(target=renew, name="redis-claim", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def redis_server_binary() -> str:
    """Path of redis-server, installing Debian's package when we are root."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("redis-server is missing; installing Debian's redis-server package…", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env)
        found = shutil.which("redis-server")
        if found:
            return found
    sys.exit(
        "Redis is needed and redis-server is not installed.\n"
        "Install it with:  sudo apt-get install redis-server\n"
        "or point REDIS_URL at a running Redis, then run `make run` again."
    )


def setup(env: dict[str, str] | None = None) -> None:
    """The set-up steps, in order; the first that fails stops `make run` with its message."""
    (BASE_DIR / "var" / "mail").mkdir(parents=True, exist_ok=True)
    for step in SETUP_STEPS:
        print("manage.py", *step, flush=True)
        done = subprocess.run([sys.executable, "manage.py", *step], cwd=BASE_DIR, env=env)
        if done.returncode != 0:
            sys.exit(f"`manage.py {' '.join(step)}` failed (exit {done.returncode}).")


@contextmanager
def redis_for_setup(binary: str, port: int, timeout: float = 10.0) -> Iterator[None]:
    """A Redis on 127.0.0.1:`port` for as long as the block runs, then stopped and gone.

    Its own session, so a Ctrl-C during the set-up reaches it only through the clean-up here.
    """
    url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not redis_answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(
                    f"redis-server could not start on 127.0.0.1:{port} (is the port taken by"
                    " something that is not Redis?); free it or set REDIS_URL."
                )
            time.sleep(0.05)
        yield
    finally:
        server.terminate()
        server.wait(timeout=timeout)


DEFAULT_BIND = "127.0.0.1:8000"
# Ctrl-C stops the web server first (no new requests), then the Celery processes together
# (a warm shutdown takes seconds each), then Redis, which they talk to until they are gone.
STOP_ORDER = (("web", "web-reload"), ("beat", "detector", "worker"), ("redis",))


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    reload, setup_only = "--reload" in args, "--setup-only" in args
    # WEB_BIND moves the web server (both kinds), as it moves the production one.
    bind = os.environ.get("WEB_BIND", DEFAULT_BIND)
    host, _, web_port = bind.rpartition(":")
    if not host or not web_port.isdigit():
        sys.exit(f"WEB_BIND={bind}: give host:port, e.g. 127.0.0.1:8001.")
    if not setup_only and port_in_use(int(web_port), host):
        sys.exit(f"Port {web_port} on {host} is already in use; stop whatever runs there first.")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    processes = ["web-reload" if reload else "web", "worker", "detector", "beat"]
    port = parts.port or 6379
    site = f"http://{bind}"
    # Links in emails point at this server unless SITE_URL says otherwise.
    env = {**os.environ, "REDIS_PORT": str(port), "WEB_BIND": bind}
    env.setdefault("SITE_URL", site)
    if redis_answers(url):
        other = redis_claimed_by(url)
        if other is not None:
            db = int(parts.path.strip("/") or 0)
            sys.exit(
                f"Redis at {url} is in use by the OutageWatch stack in {other}: two stacks "
                "on one Redis database take each other's tasks. Give this one its own, e.g. "
                f"REDIS_URL=redis://{parts.hostname or '127.0.0.1'}:{port}/{db + 1} make run, "
                "or stop the other."
            )
        print(f"Redis answers on {url}; using it.", flush=True)
        during_setup: AbstractContextManager[None] = nullcontext()
    elif (parts.hostname or "127.0.0.1") in LOCAL_HOSTS:
        env["REDIS_SERVER"] = redis_server_binary()
        processes.insert(0, "redis")
        during_setup = redis_for_setup(env["REDIS_SERVER"], port)
    else:
        sys.exit(f"Redis at {url} does not answer; start it or fix REDIS_URL.")
    with during_setup:
        setup(env)
    if setup_only:
        return 0
    if "redis" in processes:
        print(f"Starting a local Redis on 127.0.0.1:{port}.", flush=True)
    print(
        f"OutageWatch: web on {site} · API docs on {site}/api/docs/\n"
        "Emails are written to var/mail/ unless EMAIL_URL or EMAIL_HOST is set. Ctrl-C stops all.",
        flush=True,
    )
    with redis_claimed(url):
        return run_stack(processes, env)


def run_stack(names: list[str], env: dict[str, str]) -> int:
    """The named Procfile processes, until Ctrl-C or one of them ends; the exit status."""
    commands = read_procfile(BASE_DIR / "Procfile")
    processes = [(name, commands[name]) for name in names]
    return Runner(processes, env=env, cwd=BASE_DIR, stop_order=STOP_ORDER).run()


if __name__ == "__main__":
    sys.exit(main())
