"""Check the detector's zone clocks against zoneinfo for every zone of tzdata's zone.tab.

    .venv/bin/python bench/check_clocks.py                      # 1970-2040, 2 jobs, ~6 minutes
    .venv/bin/python bench/check_clocks.py --first 2020 --last 2030 --jobs 1

`detection.core.clock` finds a zone's clock changes by probing its offset once a day, hourly
within a day whose offset moved, and bisecting to the minute; that misses a change only where
a zone changes its clock twice within an hour, or changes it and back within a day. This
checks that no zone does, over the years asked: for each zone and year the clock must give
zoneinfo's offset at every hour of the year and on both sides of each change it found. Pure
Python, no Django. Prints the zones, years and changes checked, and every disagreement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.clocks import zone_tab
from detection.core.clock import utc_offset, zone_clock


def zones() -> list[str]:
    """Every zone tzdata's zone.tab names for a country."""
    return sorted({zone for _, zone in zone_tab()})


def _minute(year: int) -> int:
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()) // 60


def _utc(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, dt.UTC)


def check(zone: str, first_year: int, last_year: int) -> tuple[int, list[str]]:
    """(changes checked, disagreements) of one zone over the years."""
    tz = ZoneInfo(zone)
    first, last = _minute(first_year), _minute(last_year + 1)
    clock = zone_clock(zone, first, last)
    hours = list(range(first, last, 60))
    wrong = [
        f"{zone}: {_utc(m):%Y-%m-%d %H:%M} UTC the clock says {got}, zoneinfo {utc_offset(tz, m)}"
        for m, got in zip(hours, clock.at(hours).tolist(), strict=True)
        if got != utc_offset(tz, m)
    ]
    changes = [int(c) for c in clock.changes if first < c < last]
    for change in changes:
        for m in (change - 1, change):
            if int(clock.at(m)) != utc_offset(tz, m):
                wrong.append(f"{zone}: the change at minute {change} is not on its minute")
    return len(changes), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=1970, help="first year (UTC)")
    parser.add_argument("--last", type=int, default=2040, help="last year (UTC)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = zones()
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(check, names, [args.first] * len(names), [args.last] * len(names)))
    changes = sum(n for n, _ in results)
    wrong = [line for _, lines in results for line in lines]
    for line in wrong:
        print(line)
    print(
        f"{len(names)} zones, {args.first}-{args.last}: {changes} clock changes,"
        f" {len(wrong)} disagreements with zoneinfo ({time.perf_counter() - start:.0f} s)"
    )
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
