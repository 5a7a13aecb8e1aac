"""Keep one command running: restart it with backoff whenever it exits on its own.

    python -m outagewatch.supervise [--name worker] -- celery -A outagewatch worker ...

`make run` (the Procfile) runs the Celery worker and beat through this, so a worker
that dies (a broker restart used to kill it, issue 11) comes back by itself instead of
silently stopping detection and alerts. In production systemd does the same job
(Restart=always; see docs/deployment.md).

SIGTERM and SIGINT are passed on to the command and end supervision: the supervisor then
waits for the command and exits with its status. SIGHUP (the terminal closed) ends it too,
passed on as SIGTERM: a Celery worker takes SIGHUP as "restart in place" and went on
unsupervised (infra review F5). Each restart logs one
line. The backoff doubles up to --max-backoff and starts over once the command has run
for --stable seconds, so a crash loop does not spin and a rare crash restarts at once.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _child_setup() -> None:
    """In the child, before exec: die with the supervisor even if it is SIGKILLed (Linux)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: a stray child is the lesser harm
        pass


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable: float = 60.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.command = list(command)
        self.name = name
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable = stable
        self.stop_timeout = stop_timeout
        self.stopping = threading.Event()
        self.stop_signal: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def log(self, message: str) -> None:
        print(f"supervise[{self.name}]: {message}", file=sys.stderr, flush=True)

    def on_signal(self, signum: int, frame: object) -> None:
        # Runs in the main thread between bytecodes: forward, then let run() wind down.
        self.stop_signal = signum
        self.stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    def run(self) -> int:
        for signum in FORWARDED:
            signal.signal(signum, self.on_signal)
        backoff = self.min_backoff
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                # Its own session: make run signals our whole process group on Ctrl-C, and
                # Celery must get one SIGTERM (ours), not two (a second one cuts its warm
                # shutdown short).
                self.proc = subprocess.Popen(
                    self.command, start_new_session=True, preexec_fn=_child_setup
                )
            except OSError as exc:  # not found, not executable: retrying will not fix it
                self.log(f"cannot start {self.command[0]!r}: {exc}")
                return 127
            self.log(f"started pid {self.proc.pid}")
            if self.stopping.is_set() and self.stop_signal is not None:
                self.proc.send_signal(self.stop_signal)  # it came while we were starting
            code = self.proc.wait()
            if self.stopping.is_set():
                return self._finish(code)
            ran = time.monotonic() - started
            if ran >= self.stable:
                backoff = self.min_backoff
            self.restarts += 1
            self.log(
                f"pid {self.proc.pid} exited with status {code} after {ran:.1f}s; "
                f"restart {self.restarts} in {backoff:g}s"
            )
            # Interrupted at once by a stop signal (on_signal sets the event).
            if self.stopping.wait(backoff):
                return self._finish(code)
            backoff = min(backoff * 2, self.max_backoff)
        return 0

    def _finish(self, code: int | None) -> int:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                code = proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.log(f"pid {proc.pid} did not stop within {self.stop_timeout:g}s; killing it")
                proc.kill()
                code = proc.wait()
        # A command ended by the signal we forwarded has done what was asked: success.
        if code is not None and code < 0 and -code == self.stop_signal:
            return 0
        return code or 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m outagewatch.supervise", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--name", help="label for the log lines (default: the command)")
    parser.add_argument("--min-backoff", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--max-backoff", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument(
        "--stable",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a run this long resets the backoff",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args...]")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("a command to run is required, after --")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    supervisor = Supervisor(
        args.command,
        name=args.name or args.command[0].rsplit("/", 1)[-1],
        min_backoff=args.min_backoff,
        max_backoff=args.max_backoff,
        stable=args.stable,
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
