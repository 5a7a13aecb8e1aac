"""detect_series as a standalone tool: what a user sees at its edges (CLI tester findings)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from detection.csvio import SeriesFormatError, series_read
from detection.management.commands.detect_series import Command
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


def _local_stamps(first_utc: dt.datetime, step: int, rows: int, offset: bool) -> list[str]:
    """Stamps of a Europe/Berlin export: wall-clock times, with or without their offset."""
    berlin = ZoneInfo("Europe/Berlin")
    stamps = (first_utc + dt.timedelta(minutes=step * i) for i in range(rows))
    local = (s.astimezone(berlin) for s in stamps)
    return [str(s) if offset else str(s.replace(tzinfo=None)) for s in local]


def _read(stamps: list[str]) -> None:
    series_read(StringIO("timestamp,value\n" + "".join(f"{s},3\n" for s in stamps)))


CLOCK_CHANGE = (
    "; stamps without a UTC offset are read as UTC, and this looks like a daylight-saving"
    " clock change in stamps written in local time: export the stamps with their UTC offset"
    " (e.g. 2024-03-31 03:00:00+02:00) rather than inserting or removing rows"
)


@pytest.mark.parametrize(
    "first_utc, step, expected",
    [
        (  # spring: 02:00-02:59 never happen; 01:55 is followed by 03:00
            dt.datetime(2024, 3, 31, 0, 0, tzinfo=dt.UTC),
            5,
            "line 14: '2024-03-31 03:00:00' is 65 minutes after the previous row; this"
            " file's fixed spacing is 5 minutes",
        ),
        (  # autumn: 02:00-02:59 happen twice; 02:55 is followed by 02:00
            dt.datetime(2024, 10, 26, 23, 0, tzinfo=dt.UTC),
            5,
            "line 26: '2024-10-27 02:00:00' is not after the previous row"
            " ('2024-10-27 02:55:00'); timestamps must increase at a fixed spacing",
        ),
        (  # autumn, hourly: 02:00 twice
            dt.datetime(2024, 10, 26, 20, 0, tzinfo=dt.UTC),
            60,
            "line 7: '2024-10-27 02:00:00' is not after the previous row"
            " ('2024-10-27 02:00:00'); timestamps must increase at a fixed spacing",
        ),
    ],
    ids=["spring 5 min", "autumn 5 min", "autumn hourly"],
)
def test_local_stamps_across_a_clock_change_are_refused_as_one(first_utc, step, expected):
    with pytest.raises(SeriesFormatError) as refused:
        _read(_local_stamps(first_utc, step, 40, offset=False))
    assert str(refused.value) == expected + CLOCK_CHANGE


def test_local_stamps_with_their_offset_cross_a_clock_change():
    start = dt.datetime(2024, 3, 31, 0, 0, tzinfo=dt.UTC)
    _read(_local_stamps(start, 5, 40, offset=True))  # accepted: the offsets say the hour


def test_an_hour_of_rows_missing_between_stamps_with_an_offset_is_missing_rows():
    stamps = [f"2024-03-01T{h:02}:{m:02}:00+00:00" for h in (0, 2) for m in range(0, 60, 5)]
    with pytest.raises(SeriesFormatError) as refused:
        _read(stamps)
    assert str(refused.value) == (
        "line 14: '2024-03-01T02:00:00+00:00' is 65 minutes after the previous row; this"
        " file's fixed spacing is 5 minutes (12 missing rows: write every row, 0 where"
        " nothing was counted)"
    )


def test_a_value_too_small_to_hold_is_refused_rather_than_read_as_zero():
    stamps = ["2024-03-01 00:00:00", "2024-03-01 00:05:00"]
    with pytest.raises(SeriesFormatError) as refused:
        series_read(StringIO(f"timestamp,value\n{stamps[0]},0.0e-400\n{stamps[1]},1e-400\n"))
    assert str(refused.value) == "line 3: value '1e-400' is too small (it would be read as 0)"


def test_help_says_what_the_columns_mean_and_how_stamps_are_read():
    text = " ".join(Command().create_parser("manage.py", "detect_series").format_help().split())
    assert "stamps without a UTC offset are read as UTC" in text
    assert "is_anomaly is the decision: 1 on every row while an outage is open" in text
    assert "take the first row of each run of 1s" in text
    assert "is not the decision: 0.5 is not the alarm line" in text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nosuch": 1}, "DETECTOR_OVERRIDES: unknown detector setting(s): nosuch"),
        ({"p_outage": "x"}, "DETECTOR_OVERRIDES: detector setting p_outage must be a number"),
    ],
)
def test_bad_detector_overrides_are_one_line_not_a_traceback(
    tmp_path, settings, overrides, message
):
    # System checks (detection.E001) do not run for this command: the setting's own error
    # came as a traceback (CLI tester F13).
    from detection.services.config import detector_config

    settings.DETECTOR_OVERRIDES = overrides
    detector_config.cache_clear()
    try:
        with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call_command("detect_series", str(_series_file(tmp_path / "in.csv", rows=50)), "-")
    finally:
        detector_config.cache_clear()


def test_a_refusal_names_the_file_line_past_a_field_spanning_lines():
    # A quoted value holding a newline made every later line number one short: "line 4" for
    # the bad value on line 5 (CLI tester F9).
    text = (
        'timestamp,value\n2024-01-01 00:00:00,"1\n"\n2024-01-01 00:05:00,2\n2024-01-01 00:10:00,x\n'
    )
    with pytest.raises(SeriesFormatError, match=r"^line 5: value 'x' is not a number"):
        series_read(StringIO(text))
