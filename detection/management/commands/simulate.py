"""Simulated traffic: labelled CSV series, weeks of history, or live reports."""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from detection.services.simulate import (
    HistoryExists,
    TickNotPausable,
    history_reset,
    history_seed,
    live_minute,
)
from detection.simulation import simulate_series, write_labels_json, write_series_csv
from reports.cache import catalog_renamed
from reports.models import Service
from reports.validation import country_clean


def _within(kind: type, low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a number of `kind` from low (or above it) to high, as a clear usage
    error otherwise (a negative week count failed in numpy, a huge one allocated gigabytes)."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value > high or value < low or (above and value == low):
            bound = f"above {low:g}" if above else f"from {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is not {bound} to {high:g}")
        return value

    return convert


WEEKS = _within(float, 0, 52, above=True)
SEED_HELP = "random seed: the same seed gives the same traffic (1)"


class Command(BaseCommand):
    help = (
        "Simulate report traffic. `simulate csv DIR` writes labelled series for evaluation; "
        "`simulate history` gives popular services weeks of history (reports, buckets, "
        "baselines, past outages); `simulate reset` removes that history again; "
        "`simulate live SERVICE` sends live reports minute by minute."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="mode", required=True)
        csv_mode = sub.add_parser("csv", help="labelled timestamp,value series + labels JSON")
        csv_mode.add_argument(
            "directory",
            type=Path,
            help="where the CSV files and their .labels.json files go (made if new)",
        )
        csv_mode.add_argument(
            "--series", type=_within(int, 1, 1000), default=10, help="how many series (10)"
        )
        csv_mode.add_argument("--weeks", type=WEEKS, default=4.0, help="length of each (4)")
        csv_mode.add_argument("--seed", type=int, default=1, help=SEED_HELP)
        history = sub.add_parser("history", help="weeks of report history for popular services")
        history.add_argument("--weeks", type=WEEKS, default=2.0, help="how far back (2)")
        history.add_argument(
            "--services",
            type=_within(int, 1, 1000),
            default=8,
            help="how many services, from a list of popular ones: chatgpt, whatsapp, ... (8)",
        )
        history.add_argument("--seed", type=int, default=1, help=SEED_HELP)
        history.add_argument(
            "--replace", action="store_true", help="remove earlier simulated history first"
        )
        sub.add_parser("reset", help="remove simulated history (reports, buckets, outages)")
        live = sub.add_parser("live", help="live reports for one service, minute by minute")
        live.add_argument("service", help="service slug")
        minutes = _within(int, 0, 7 * 1440)
        per_minute = _within(float, 0, 10_000)
        live.add_argument(
            "--minutes", type=_within(int, 1, 7 * 1440), default=30, help="how long to run (30)"
        )
        live.add_argument("--rate", type=per_minute, default=1.0, help="normal reports/min")
        live.add_argument("--outage-at", type=minutes, default=2, help="minute it starts")
        live.add_argument("--outage-minutes", type=minutes, default=10, help="0 = no outage")
        live.add_argument("--outage-rate", type=per_minute, default=40.0, help="extra reports/min")
        live.add_argument("--countries", default="DE,FR", help="where the outage is")
        live.add_argument(
            "--flood", type=_within(int, 0, 10_000), default=0, help="reports/min from one person"
        )
        live.add_argument(
            "--seconds-per-minute",
            type=_within(float, 0, 3600),
            default=60.0,
            help="real seconds between one minute's reports and the next's (60; the reports "
            "are stamped when sent, so with less the detector sees them bunched in fewer "
            "minutes)",
        )
        live.add_argument("--seed", type=int, default=1, help=SEED_HELP)

    def handle(self, *args, mode: str, **options):
        getattr(self, f"handle_{mode}")(**options)

    def handle_csv(self, *, directory: Path, series: int, weeks: float, seed: int, **_):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"{directory}: not a directory ({exc.strerror})") from None
        for k in range(series):
            simulated = simulate_series(seed=seed * 1000 + k, weeks=weeks)
            write_series_csv(directory / f"series-{k:03d}.csv", simulated.minutes, simulated.values)
            write_labels_json(directory / f"series-{k:03d}.labels.json", simulated)
        self.stdout.write(f"{series} labelled series of {weeks} weeks in {directory}/")

    def handle_history(self, *, weeks: float, services: int, seed: int, replace: bool, **_):
        started = time.monotonic()
        try:
            result = history_seed(
                weeks=weeks, services=services, seed=seed, replace=replace, progress=self._progress
            )
        except (HistoryExists, TickNotPausable) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{result.reports} reports over {weeks} weeks for {result.services} services, "
            f"{result.outages} past outages, in {time.monotonic() - started:.0f}s."
        )

    def handle_reset(self, **_):
        result = history_reset(progress=self._progress)
        self.stdout.write(
            f"Removed {result.reports} simulated reports and {result.outages} simulated outages."
        )

    def _progress(self, line: str) -> None:
        # Seen as it happens, even through a pipe (`make demo | tee`).
        self.stdout.write(line)
        self.stdout.flush()

    def handle_live(self, *, service: str, minutes: int, **o):
        slug = service.strip().lower()
        try:
            # A renamed service's former slug names it, as it does for the API it sends through.
            target = Service.objects.get(slug=catalog_renamed(slug) or slug)
        except Service.DoesNotExist:
            raise CommandError(f"Unknown service {service!r}") from None
        rng = np.random.default_rng(o["seed"])
        try:
            countries = [country_clean(c) for c in o["countries"].split(",") if c.strip()]
        except ValidationError as exc:
            raise CommandError(f"--countries: {exc.messages[0]}") from None
        if o["outage_minutes"] and o["outage_at"] >= minutes:
            raise CommandError(
                f"--outage-at {o['outage_at']} is not within the {minutes} minutes simulated "
                "(minutes count from 0): no outage would happen; use --outage-minutes 0 for none"
            )
        outage = range(o["outage_at"], o["outage_at"] + o["outage_minutes"])
        try:
            for minute in range(minutes):
                began = time.monotonic()
                extra = o["outage_rate"] if minute in outage else 0.0
                sent = live_minute(
                    service=target, normal_rate=o["rate"], extra=extra, countries=countries,
                    flood=o["flood"], rng=rng,
                )  # fmt: skip
                self.stdout.write(
                    json.dumps({"minute": minute, "reports": sent, "outage": minute in outage})
                )
                time.sleep(max(0.0, o["seconds_per_minute"] - (time.monotonic() - began)))
        except KeyboardInterrupt:  # Ctrl-C is how a demo ends early: no traceback
            self.stdout.write("Stopped; the reports sent so far are stored.")
