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


def test_the_command_comes_after_a_double_dash():
    args = parse_args(["--name", "w", "--", "celery", "-A", "x", "worker"])
    assert (args.name, args.command) == ("w", ["celery", "-A", "x", "worker"])
