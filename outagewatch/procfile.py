"""`make run`'s process runner: the Procfile's processes side by side, stopped in order.

Each process runs in its own session, so a Ctrl-C at the terminal reaches only this runner,
which then stops them in stages (`stop_order`; processes it does not name go first, the last
started first): SIGTERM to the process group of each process of a stage, and up to
`stop_timeout` seconds for them to end before SIGKILL (longer than the 30 s that gunicorn and
outagewatch.supervise give their own children), then the next stage. A second Ctrl-C
kills whatever is left. Then one line says the stack stopped, and the exit status is
0: the user asked for it, so make prints no "Error". A process that exits on its own is
reported with its status, the others are stopped the same way, and the status is 1.

Honcho ran the stack before. It stopped everything at once, Redis included, killed what had
not stopped within 5 seconds (a Celery warm shutdown waits for its running task), exited 130
on Ctrl-C and 0 when a process exited 0 on its own, and signalled the `sh -c` around each
command (Debian's dash does not exec it), so the status it reported was the shell's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SYSTEM = "system"


def read_procfile(path: Path) -> dict[str, str]:
    """`name: command` lines, in file order; blank lines and # comments are skipped."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, colon, command = line.partition(":")
        if colon and name.strip() and not name.lstrip().startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"


class Runner:
    def __init__(
        self,
        processes: Sequence[tuple[str, str]],
        *,
        env: Mapping[str, str],
        cwd: Path,
        stop_order: Sequence[Sequence[str]] = (),
        label: str = "OutageWatch",
        stop_timeout: float = 45.0,
        out: IO[str] = sys.stdout,
    ) -> None:
        self.processes = list(processes)
        self.env = dict(env)
        self.cwd = cwd
        self.stop_order = stop_order
        self.label = label
        self.stop_timeout = stop_timeout
        self.out = out
        self.width = max(len(name) for name in [SYSTEM, *(name for name, _ in processes)])
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.readers: list[threading.Thread] = []
        self.signals: list[int] = []  # stop signals received, first one first
        self.wake = threading.Event()
        self.print_lock = threading.Lock()

    def say(self, name: str, text: str) -> None:
        with self.print_lock:
            self.out.write(f"{dt.datetime.now():%H:%M:%S} {name:<{self.width}} | {text}\n")
            self.out.flush()

    def on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)
        self.wake.set()

    def run(self) -> int:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)
        signal.signal(signal.SIGCHLD, lambda signum, frame: self.wake.set())
        for name, command in self.processes:
            if self.signals:
                break
            self.start(name, command)
        ended = self.wait_for_an_end()
        if ended is not None:
            name, code = ended
            self.say(SYSTEM, f"{name} exited on its own with {describe(code)}; stopping the rest")
        else:
            order = ", then ".join(" and ".join(stage) for stage in self.stop_stages())
            self.say(SYSTEM, f"{signal_name(self.signals[0])}: stopping {order}")
        problems = self.stop_all()
        if ended is not None:
            problems.insert(0, f"{ended[0]} exited on its own with {describe(ended[1])}")
        for thread in self.readers:
            thread.join(timeout=2)
        if problems:
            self.say(SYSTEM, f"{self.label} stopped: {'; '.join(problems)}.")
            return 1
        self.say(SYSTEM, f"{self.label} stopped.")
        return 0

    def start(self, name: str, command: str) -> None:
        # exec: the pid we watch and signal is the command's, not a shell's around it.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started[name] = proc
        reader = threading.Thread(target=self.relay, args=(name, proc), daemon=True)
        reader.start()
        self.readers.append(reader)
        self.say(SYSTEM, f"{name} started (pid {proc.pid})")

    def relay(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.say(name, line.decode(errors="replace").rstrip("\n"))

    def wait_for_an_end(self) -> tuple[str, int] | None:
        """The first process to exit on its own, or None once a stop signal came."""
        while not self.signals:
            self.wake.clear()
            for name, proc in self.started.items():
                code = proc.poll()
                if code is not None:
                    return name, code
            self.wake.wait(1.0)  # set by SIGCHLD or a stop signal; the timeout is a backstop
        return None

    def stop_stages(self) -> list[list[str]]:
        """The running processes in the order they are stopped, grouped by stage."""
        listed = {name for stage in self.stop_order for name in stage}
        first = [[name] for name in reversed(self.started) if name not in listed]
        stages = [[name for name in stage if name in self.started] for stage in self.stop_order]
        return [stage for stage in first + stages if stage]

    def stop_all(self) -> list[str]:
        """Stop what still runs, stage by stage; what went wrong, if anything."""
        problems = []
        for stage in self.stop_stages():
            procs = {name: self.started[name] for name in stage}
            running = {name: proc for name, proc in procs.items() if proc.poll() is None}
            # An ended process's group too: gunicorn's workers outlive a master that crashed,
            # holding the port (and its output pipe) until told to stop.
            for proc in procs.values():
                self.signal_group(proc, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            for name, proc in running.items():
                code = self.wait_stopped(proc, deadline)
                # Ended by our SIGTERM, or by the SIGKILL a second Ctrl-C asked for: as asked.
                asked = (0, -signal.SIGTERM, -signal.SIGKILL if len(self.signals) > 1 else 0)
                if code is None:
                    problems.append(f"{name} did not stop within {self.stop_timeout:g}s; killed")
                elif code not in asked:
                    problems.append(f"{name} exited with {describe(code)} while stopping")
        return problems

    def wait_stopped(self, proc: subprocess.Popen[bytes], deadline: float) -> int | None:
        """Its exit status once it ends; None if it outlived the deadline (then killed).

        A second stop signal (Ctrl-C again) kills it at once: that was asked for too.
        """
        while len(self.signals) < 2:
            try:
                return proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self.signal_group(proc, signal.SIGKILL)
                    proc.wait()
                    return None
        self.signal_group(proc, signal.SIGKILL)
        return proc.wait()

    @staticmethod
    def signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.killpg(proc.pid, signum)
