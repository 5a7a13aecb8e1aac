"""Load benchmark: the production server on PostgreSQL against bare DRF endpoints, one run.

    .venv/bin/python bench/load/run.py                 # the whole run (about 4 minutes)
    .venv/bin/python bench/load/run.py --duration 5 --rounds 1 --no-reads

What it does (bench/load/README.md has the method and the figures):

1. creates a throwaway PostgreSQL database (BENCH_PG_URL names the server and a role that may
   CREATEDB), migrates it, loads the catalog and creates the bare endpoint's table;
2. starts a private redis-server and the production server (`gunicorn -c
   python:outagewatch.gunicorn_conf`, 2 uvicorn workers, DEBUG=0) with bench.load.settings:
   the product's URLs plus the bare views, trusting 127.0.0.1 as its proxy;
3. runs wrk (2 threads, 64 connections, 10 s a run, every request from its own client
   address in X-Forwarded-For), alternating: bare INSERT / POST /api/v1/reports/ (twice),
   then a bare constant view / GET /api/v1/status/ / GET /api/v1/services/{slug}/ (twice);
4. runs the report endpoint once more and SIGKILLs one web worker in the middle of it;
5. prints req/s, p50/p99, errors, ratios against the bare runs, and checks that every 201
   is a stored row (by the ids in the answers); then drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "bench" / "load" / "load.lua"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
# For comparison only, not a dependency of the product: `pip install granian==2.8.9`.
GRANIAN = str(Path(PYTHON).with_name("granian"))
DEFAULT_PG = "postgres://outagewatch:outagewatch@127.0.0.1:5432/postgres"
REPORTS = "/api/v1/reports/"
BARE_REPORTS = "/api/bench/reports/"
BARE_CONSTANT = "/api/bench/constant/"
# detection.cache.VERSION_KEY as Django's cache names it (KEY_PREFIX "ow", version 1).
DATA_VERSION_KEY = "ow:1:detection:data-version"
# The services whose (service, problem) pairs the report bodies cycle through.
SERVICES = 12


@dataclass
class Run:
    name: str
    method: str
    path: str
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    created: int = 0
    bad_status: int = 0
    socket_errors: int = 0
    timeouts: int = 0
    stored: int | None = None  # of the 201s' ids, how many are rows
    new_rows: int | None = None  # rows the table gained during the run
    counted: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.bad_status + self.socket_errors + self.timeouts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="ow-load-"))
        self.db_name = f"ow_load_{os.getpid()}"
        admin = psycopg.conninfo.conninfo_to_dict(args.pg)
        self.admin_url = args.pg
        self.db_url = (
            f"postgres://{admin.get('user', '')}:{admin.get('password', '')}@"
            f"{admin.get('host', '127.0.0.1')}:{admin.get('port', 5432)}/{self.db_name}"
        )
        self.port = free_port()
        self.redis_port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.redis: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None
        self.run_index = 0
        # The first network of the next run: no two runs share one (each report is counted).
        self.next_network = 0
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.load.settings",
            "DEBUG": "0",
            "SECRET_KEY": "load-bench-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.db_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "WEB_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(args.workers),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("CONN_MAX_AGE", None)

    # --- setup -------------------------------------------------------------------------

    def setup(self) -> None:
        self.redis = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.tmp)),
            ],
            stdout=subprocess.DEVNULL,
        )
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("catalog_load")
        self.manage(
            "shell", "-c", "from bench.load.views import bare_table_create; bare_table_create()"
        )
        self.server_start()

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def server_start(self) -> None:
        log = (self.tmp / "server.log").open("ab")
        command = [GUNICORN, "-c", "python:outagewatch.gunicorn_conf"]
        if self.args.server == "gthread":
            # For comparison only: the same app over WSGI, gunicorn's threaded workers.
            command += ["outagewatch.wsgi:application", "-k", "gthread", "--threads", "8"]
        elif self.args.server == "granian":
            # For comparison only: the same app over WSGI on granian (Rust I/O, blocking
            # threads per worker), respawning a killed worker as gunicorn does.
            command = [
                GRANIAN,
                *("--interface", "wsgi", "--workers", str(self.args.workers)),
                *("--blocking-threads", str(self.args.server_threads)),
                *("--host", "127.0.0.1", "--port", str(self.port), "--no-ws"),
                *("--respawn-failed-workers", "--respawn-interval", "0.5"),
                "outagewatch.wsgi:application",
            ]
        elif self.args.server == "sync":
            # For comparison only: WSGI on gunicorn's sync workers, as issue 13 measured.
            command += ["outagewatch.wsgi:application", "-k", "sync"]
        self.server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        wait_for(self.server_up, 60, "the web server")

    def server_up(self) -> bool:
        request = urllib.request.Request(
            self.base + BARE_CONSTANT, headers={"X-Forwarded-Proto": "https"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def workers(self) -> list[int]:
        assert self.server is not None
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def redis_connections(self) -> int:
        import redis

        return redis.Redis(port=self.redis_port).info("stats")["total_connections_received"]

    def pairs(self) -> list[str]:
        catalog = json.loads((ROOT / "reports" / "data" / "catalog.json").read_text())
        return [
            f"{service['slug']}:{problem}"
            for service in catalog["services"][:SERVICES]
            for problem in service["problems"]
        ]

    # --- runs --------------------------------------------------------------------------

    def ticking(self, every: float) -> threading.Event:
        """Bump the detection data version every `every` s, as each detection tick does
        (detection.cache.data_version_bump): every cached read is stale at once."""
        import redis

        stop = threading.Event()
        client = redis.Redis(port=self.redis_port)

        def tick() -> None:
            while not stop.wait(every):
                client.incr(DATA_VERSION_KEY)

        threading.Thread(target=tick, daemon=True).start()
        return stop

    def wrk(self, name: str, method: str, path: str, *, seconds: float, kill_at: float = 0) -> Run:
        self.run_index += 1
        prefix = self.tmp / f"ids-{self.run_index}" if method == "POST" else None
        table = "reports_report" if path == REPORTS else "bench_bare_report"
        before = self.max_id(table) if prefix else 0
        command = [
            *("wrk", "-t", str(self.args.threads), "-c", str(self.args.connections)),
            *("-d", f"{round(seconds)}s", "--latency", "-s", str(LUA), self.base),
            *("--", method, path, str(self.next_network), str(self.args.threads)),
            *(str(prefix or "-"), *self.pairs()),
        ]
        run = Run(name=name, method=method, path=path)
        timer = None
        if kill_at:
            timer = threading.Timer(kill_at, self.kill_worker, args=(run,))
            timer.start()
        done = subprocess.run(command, capture_output=True, text=True)
        if timer:
            timer.join()
        if done.returncode:
            raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
        self.next_network += result["networks"]
        if self.next_network > result["networks_named"]:
            raise SystemExit(
                f"The runs asked for {self.next_network:,} client networks, more than the"
                f" {result['networks_named']:,} load.lua names: addresses repeated. Use shorter"
                " or fewer runs."
            )
        run.requests = result["requests"]
        run.seconds = result["duration_us"] / 1e6
        run.p50_ms, run.p90_ms = result["p50_us"] / 1e3, result["p90_us"] / 1e3
        run.p99_ms, run.max_ms = result["p99_us"] / 1e3, result["max_us"] / 1e3
        run.created, run.bad_status = result["created"], result["bad_status"]
        run.socket_errors = result["connect"] + result["read"] + result["write"]
        run.timeouts = result["timeout"]
        if prefix:
            self.check_rows(run, prefix, table, before)
        return run

    def kill_worker(self, run: Run) -> None:
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        run.notes.append(f"SIGKILLed worker {victim} at {self.args.duration * 0.4:.0f}s")

    def max_id(self, table: str) -> int:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]

    def check_rows(self, run: Run, prefix: Path, table: str, before: int) -> None:
        ids = []
        for part in prefix.parent.glob(prefix.name + ".*"):
            for value in part.read_text().split():
                ids.append(int(value) if value.isdigit() else -1)
        with psycopg.connect(self.db_url) as conn:
            run.stored = conn.execute(
                f"SELECT count(*) FROM {table} WHERE id = ANY(%s)", [ids]
            ).fetchone()[0]
            if table == "reports_report":
                run.new_rows, run.counted = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE counted) FROM reports_report "
                    "WHERE id > %s",
                    [before],
                ).fetchone()
            else:
                run.new_rows = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE id > %s", [before]
                ).fetchone()[0]
        if len(ids) != run.created:
            run.notes.append(f"{run.created} 201s but {len(ids)} ids recorded")

    # --- teardown ----------------------------------------------------------------------

    def close(self) -> None:
        for proc in (self.server, self.redis):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if not self.args.keep_db:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        else:
            print(f"kept database {self.db_name}")
        log = self.tmp / "server.log"
        if log.exists() and self.args.server_log:
            shutil.copy(log, self.args.server_log)
        shutil.rmtree(self.tmp, ignore_errors=True)


def row(run: Run, ratio: str = "") -> str:
    checked = ""
    if run.stored is not None:
        checked = f"{run.created} / {run.stored} / {run.new_rows}"
    return (
        f"| {run.name} | {run.rps:,.0f} | {run.p50_ms:.1f} | {run.p90_ms:.1f} | {run.p99_ms:.1f} "
        f"| {run.errors} | {ratio} | {checked} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of each pair")
    parser.add_argument("--no-writes", dest="writes", action="store_false")
    parser.add_argument("--no-reads", dest="reads", action="store_false")
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    parser.add_argument(
        "--tick-every",
        type=float,
        default=5.0,
        help="during the read runs, invalidate cached reads this often (s) as a detection "
        "tick does (production: every 60 s); 0: never",
    )
    parser.add_argument(
        "--server",
        choices=["production", "gthread", "sync", "granian"],
        default="production",
        help="production: gunicorn -c python:outagewatch.gunicorn_conf (uvicorn workers, "
        "ASGI); gthread / sync: the same with WSGI and gunicorn's threaded / sync workers, "
        "for comparison; granian: WSGI on granian (pip install granian==2.8.9), for comparison",
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=8,
        help="--server granian: blocking threads per worker",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the runs here")
    parser.add_argument("--server-log", type=Path, help="copy the server's log here")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    args = parser.parse_args()
    if args.server == "granian" and not Path(GRANIAN).exists():
        raise SystemExit("--server granian needs granian: .venv/bin/pip install granian==2.8.9")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    load_before = os.getloadavg()[0]
    bench = Bench(args)
    runs: list[tuple[str, Run, Run | None]] = []  # (group, run, its bare yardstick)
    try:
        bench.setup()
        # Warm-up (not reported): imports, the catalog cache, connection pools. The reads too:
        # without, the first status run paid for the read path's imports and for growing
        # each worker's connection pool (0.29-0.36x against 0.64-0.84x for later rounds).
        pairs = bench.pairs()
        slug = pairs[0].split(":")[0]
        warm = [("POST", BARE_REPORTS), ("POST", REPORTS), ("GET", BARE_CONSTANT)]
        if args.reads:
            warm += [("GET", "/api/v1/status/"), ("GET", f"/api/v1/services/{slug}/")]
        for method, path in warm:
            bench.wrk("warm-up", method, path, seconds=2)
        for _ in range(args.rounds if args.writes else 0):
            bare = bench.wrk("bare DRF + INSERT", "POST", BARE_REPORTS, seconds=args.duration)
            runs.append(("write", bare, None))
            product = bench.wrk("POST /api/v1/reports/", "POST", REPORTS, seconds=args.duration)
            runs.append(("write", product, bare))
        if args.reads:
            ticks = bench.ticking(args.tick_every) if args.tick_every else None
            for _ in range(args.rounds):
                bare = bench.wrk("bare DRF constant", "GET", BARE_CONSTANT, seconds=args.duration)
                runs.append(("read", bare, None))
                for path in ("/api/v1/status/", f"/api/v1/services/{slug}/"):
                    run = bench.wrk(f"GET {path}", "GET", path, seconds=args.duration)
                    runs.append(("read", run, bare))
            if ticks:
                ticks.set()
        rss = bench.worker_rss_mb()
        redis_connections = bench.redis_connections()
        if args.kill:
            run = bench.wrk(
                "POST /api/v1/reports/ + SIGKILL",
                "POST",
                REPORTS,
                seconds=args.duration,
                kill_at=args.duration * 0.4,
            )
            runs.append(("kill", run, None))
    finally:
        bench.close()

    print(
        f"\n{args.threads} wrk threads, {args.connections} connections, {args.duration:g} s a run, "
        f"{args.workers} {args.server} workers, reads invalidated every {args.tick_every:g} s; "
        f"web worker RSS {', '.join(f'{m:.0f}' for m in rss)} MB\n"
    )
    print(
        f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other "
        "processes on the machine share its cores with the server, PostgreSQL, Redis and wrk\n"
    )
    total = sum(r.requests for _g, r, _b in runs if r.name != "POST /api/v1/reports/ + SIGKILL")
    print(f"Redis connections opened by the server: {redis_connections} for {total} requests\n")
    print("| run | req/s | p50 ms | p90 ms | p99 ms | errors | x bare | 201s / stored / new rows |")
    print("|---|---|---|---|---|---|---|---|")
    for _group, run, bare in runs:
        ratio = f"{run.rps / bare.rps:.2f}" if bare and bare.rps else ""
        print(row(run, ratio))
    for group in ("write", "read"):
        for name in sorted({r.name for g, r, b in runs if g == group and b}):
            mine = [(r, b) for g, r, b in runs if r.name == name and b]
            total = sum(r.requests for r, _ in mine) / sum(r.seconds for r, _ in mine)
            yard = sum(b.requests for _, b in mine) / sum(b.seconds for _, b in mine)
            print(f"{name}: {total:,.0f} req/s = {total / yard:.2f} x bare ({yard:,.0f} req/s)")
    for _group, run, _bare in runs:
        if run.stored is not None:
            lost = run.created - run.stored
            counted = f", {run.counted} counted" if run.counted is not None else ""
            if run.counted is not None and run.counted < run.new_rows:
                # Every request comes from a network of its own: each report should count.
                run.notes.append(f"{run.new_rows - run.counted} not counted: networks reused?")
            print(
                f"{run.name}: {run.created} answered 201, {run.stored} of their ids stored "
                f"({lost} lost), {run.new_rows} new rows{counted}; errors: {run.bad_status} "
                f"bad status, {run.socket_errors} socket, {run.timeouts} timeouts"
                + "".join(f"; {note}" for note in run.notes)
            )
    if args.json:
        args.json.write_text(
            json.dumps([{"group": g, **r.__dict__, "rps": r.rps} for g, r, _ in runs], indent=1)
        )


if __name__ == "__main__":
    main()
