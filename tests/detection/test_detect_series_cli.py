"""detect_series as a standalone tool: what a user sees at its edges (CLI tester findings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from detection.simulation import write_series_csv

ROOT = Path(__file__).resolve().parents[2]
START = 29_892_960  # 2026-11-02 00:00 UTC in epoch minutes


def _series_file(path: Path, rows: int = 3000, step: int = 5) -> Path:
    rng = np.random.default_rng(7)
    write_series_csv(path, START + step * np.arange(rows), rng.poisson(4 * step, rows))
    return path


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["0 bytes", "a bare BOM"])
def test_an_empty_file_is_refused_as_empty_naming_the_file(tmp_path, content):
    source = tmp_path / "empty.csv"
    source.write_bytes(content)
    with pytest.raises(CommandError) as refused:
        call_command("detect_series", str(source), str(tmp_path / "out.csv"))
    assert str(refused.value) == (
        f"{source}: the file is empty (expected the header timestamp,value)"
    )


def test_output_piped_into_head_ends_quietly_when_head_stops_reading(tmp_path):
    """`detect_series IN - | head -2`: the reader goes away after two lines; the command
    stops without a traceback, as a tool killed by SIGPIPE would (status 141)."""
    source = _series_file(tmp_path / "in.csv")  # ~100 kB of output: more than a pipe holds
    command = [sys.executable, "manage.py", "detect_series", str(source), "-"]
    env = {**os.environ, "DEBUG": "1"}
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # what head does once it has its lines
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=120)
    assert first == b"timestamp,value,expected,anomaly_score,is_anomaly\n"
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception" not in err
    assert status == 141
