"""Offline detection over a CSV series, with the same core as production. No database."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError

from detection.csvio import SeriesFormatError, series_detect, series_write
from detection.services.config import detector_config

# The exit status of a program killed by SIGPIPE (128 + 13), which is how `cut` or `grep`
# end when the reader of their output (`head`) has gone: a pipeline under `set -o pipefail`
# sees the same as for them.
SIGPIPE_STATUS = 141


def _quit_on_closed_pipe() -> NoReturn:
    """The reader of standard output has gone (`detect_series IN - | head`): stop quietly.

    Standard output is pointed at /dev/null first, or the interpreter's own flush at exit
    would hit the closed pipe again and print "Exception ignored ... BrokenPipeError"."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(SIGPIPE_STATUS)


class Command(BaseCommand):
    help = (
        "Read IN.csv (timestamp,value at a fixed spacing of 1 to 60 whole minutes; stamps need "
        "not sit on whole minutes; stamps without a UTC offset are read as UTC, so a file in "
        "local time gives each stamp its offset), run the detector causally in time order, and "
        "write OUT.csv (timestamp,value,expected,anomaly_score,is_anomaly) with the input stamps "
        "as written and the values as numbers; OUT.csv '-' writes to standard output. "
        "is_anomaly is the decision: 1 on every row while an outage is open, from the row that "
        "opens it until it resolves, so after a one-bucket spike the next few ordinary rows are "
        "1 too; to count alerts, take the first row of each run of 1s (as "
        "bench/evaluate_real.py does). anomaly_score (0 to 1) ranks rows by how surprising they "
        "are for the series and is not the decision: 0.5 is not the alarm line (an outage can "
        "open on a row below it, and a row above it need not open one). README.md ('How "
        "detection works', on detect_series) says more."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "input", type=Path, metavar="IN.csv", help="the series, header timestamp,value"
        )
        parser.add_argument(
            "output",
            type=Path,
            metavar="OUT.csv",
            help="where the result goes ('-': standard output); not IN.csv",
        )
        parser.add_argument(
            "--timezone",
            metavar="ZONE",
            help="IANA zone the reporters live by (e.g. Europe/Berlin): the detector then "
            "knows when their clocks change instead of inferring it from the counts. It does "
            "not change how the stamps are read (with their offset, or else as UTC)",
        )

    def handle(self, *args, input: Path, output: Path, timezone: str | None = None, **options):
        if str(output) != "-" and output.exists() and input.exists() and output.samefile(input):
            # The input is read whole before the output is opened: it would be replaced.
            raise CommandError(f"{output}: is the input file; name another file for the output")
        if timezone:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                raise CommandError(f"--timezone: no time zone named {timezone!r}") from None
        try:
            # System checks (detection.E001) do not run for this command.
            config = detector_config()
        except (TypeError, ValueError) as exc:
            raise CommandError(f"DETECTOR_OVERRIDES: {exc}") from None
        try:
            # utf-8-sig: spreadsheets put a byte-order mark before the header.
            with input.open(newline="", encoding="utf-8-sig") as handle:
                series, result = series_detect(handle, config, timezone)
        except FileNotFoundError:
            raise CommandError(f"{input}: no such file") from None
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{input}: not UTF-8 text (byte {exc.start} cannot be read: {exc.reason})"
            ) from None
        except OSError as exc:
            raise CommandError(f"{input}: cannot be read ({exc.strerror})") from None
        except SeriesFormatError as exc:
            raise CommandError(f"{input}: {exc}") from None
        summary = (
            f"{len(series.minutes)} rows at {series.step_minutes}-minute spacing, "
            f"{len(result.outages)} outages detected -> {output}"
        )
        if str(output) == "-":
            try:
                series_write(self.stdout, series, result)
                self.stdout.flush()
            except BrokenPipeError:
                _quit_on_closed_pipe()
            self.stderr.write(summary)  # standard output holds only the CSV
            return
        try:
            with output.open("w", newline="", encoding="utf-8") as handle:
                series_write(handle, series, result)
        except OSError as exc:
            raise CommandError(f"{output}: cannot be written ({exc.strerror})") from None
        self.stdout.write(summary)
