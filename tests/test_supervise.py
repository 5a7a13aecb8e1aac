"""outagewatch.supervise: restarts its command with backoff, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from outagewatch.supervise import Supervisor, parse_args
from tests.conftest import wait_until

BASE_DIR = Path(__file__).resolve().parents[1]


def test_a_command_that_exits_is_restarted_with_growing_backoff(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.write_text("")
    script = "import sys; open(sys.argv[1], 'a').write('x')"  # one mark per run, then exit 0
    supervisor = Supervisor(
        [sys.executable, "-c", script, str(runs)], name="demo", min_backoff=0.01, max_backoff=0.04
    )
    # Stop after the fourth start: the event is what a SIGTERM would set.
    original_wait = supervisor.stopping.wait

    def wait(timeout: float) -> bool:
        if runs.read_text() == "xxxx":
            supervisor.stopping.set()
        return original_wait(timeout)

    supervisor.stopping.wait = wait  # type: ignore[method-assign]

    assert supervisor.run() == 0
    assert runs.read_text() == "xxxx"
    log = capsys.readouterr().err
    assert log.count("supervise[demo]: started pid") == 4
    assert "exited with status 0" in log
    assert "restart 1 in 0.01s" in log and "restart 3 in 0.04s" in log


def test_sigterm_is_passed_on_and_ends_supervision(tmp_path):
    log = tmp_path / "supervise.log"
    command = [
        sys.executable,
        "-m",
        "outagewatch.supervise",
        "--name",
        "sleeper",
        "--",
        "sleep",
        "60",
    ]
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            stderr=stderr,
            text=True,
        )
    # The signal must reach a supervisor that has started its child, not one still importing.
    wait_until(lambda: "started pid" in log.read_text(), timeout=10, what="the child started")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    text = log.read_text()
    assert "started pid" in text and "restart" not in text


def test_sighup_ends_a_command_that_would_restart_itself_on_it(tmp_path):
    # A Celery worker whose output is a pipe takes SIGHUP as "restart in place": passed on,
    # it went on running unsupervised (infra review F5). It gets SIGTERM instead.
    log, seen = tmp_path / "supervise.log", tmp_path / "signals"
    child = (
        "import signal, sys, time\n"
        f"def mark(name): open({str(seen)!r}, 'a').write(name)\n"
        "signal.signal(signal.SIGHUP, lambda *a: mark('HUP'))\n"
        "signal.signal(signal.SIGTERM, lambda *a: (mark('TERM'), sys.exit(0)))\n"
        "mark('ready ')\n"
        "time.sleep(60)\n"
    )
    command = [sys.executable, "-m", "outagewatch.supervise", "--name", "hup", "--"]
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [*command, sys.executable, "-c", child], cwd=BASE_DIR, stderr=stderr, text=True
        )
    # The signal must reach a child whose handlers are set, not one still starting.
    wait_until(lambda: seen.exists(), timeout=10, what="the child set its handlers")
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=10) == 0
    assert seen.read_text() == "ready TERM"


def test_the_command_comes_after_a_double_dash():
    args = parse_args(["--name", "w", "--", "celery", "-A", "x", "worker"])
    assert (args.name, args.command) == ("w", ["celery", "-A", "x", "worker"])
