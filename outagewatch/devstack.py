"""`make run`: make sure Redis answers, then run web, worker, detector and beat (honcho).

Honcho supervises the processes and stops them all on Ctrl-C. Redis joins the
process set only when nothing answers on REDIS_URL already. The web process is the
production server (gunicorn over uvicorn workers, outagewatch/gunicorn_conf.py);
`--reload` (`make dev`) swaps in Django's development server, which reloads on code changes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


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


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> None:
    reload = "--reload" in (sys.argv[1:] if argv is None else argv)
    if port_in_use(8000):
        sys.exit("Port 8000 on 127.0.0.1 is already in use; stop whatever runs there first.")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(url)
    processes = ["web-reload" if reload else "web", "worker", "detector", "beat"]
    env = {**os.environ, "REDIS_PORT": str(parts.port or 6379)}
    if redis_answers(url):
        print(f"Redis answers on {url}; using it.", flush=True)
    elif (parts.hostname or "127.0.0.1") in LOCAL_HOSTS:
        env["REDIS_SERVER"] = redis_server_binary()
        processes.insert(0, "redis")
        print(f"Starting a local Redis on 127.0.0.1:{env['REDIS_PORT']}.", flush=True)
    else:
        sys.exit(f"Redis at {url} does not answer; start it or fix REDIS_URL.")
    print(
        "OutageWatch: web on http://127.0.0.1:8000 · API docs on http://127.0.0.1:8000/api/docs/\n"
        "Emails are written to var/mail/ unless EMAIL_URL or EMAIL_HOST is set. Ctrl-C stops all.",
        flush=True,
    )
    honcho = Path(sys.executable).with_name("honcho")
    os.chdir(BASE_DIR)
    os.execve(honcho, [str(honcho), "start", "-f", "Procfile", *processes], env)


if __name__ == "__main__":
    main()
