"""Run the suite at an awkward real time: every test starts at ``--clock-at`` (UTC) and the
clock ticks on from there (docs/development.md, "The suite at any hour").

A pinned clock (``midday``, ``T0``) covers what a test knows depends on the time; this finds
the tests and the code that depend on it without knowing. libfaketime does the faking, below
Python, so ``timezone.now()``, ``time.time()``, SQLite's clock and child processes all agree;
this plugin only moves its offset before each test, so that each test, not just the first,
starts just before midnight or a clock change. Not part of ``make test``: it needs
LD_PRELOAD, set by the caller::

    env -u DATABASE_URL LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \\
        FAKETIME=+0 FAKETIME_NO_CACHE=1 \\
        .venv/bin/python -m pytest -p tests.clocksweep --clock-at=2027-12-31T23:59:20 ...
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-at",
        help="UTC instant (ISO 8601) every test starts at; needs libfaketime preloaded",
    )


def _start_at(config: pytest.Config) -> float | None:
    at = config.getoption("--clock-at")
    if not at:
        return None
    return dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).timestamp()


def _restart(at: float) -> None:
    # FAKETIME_NO_CACHE makes libfaketime re-read FAKETIME on every call: an offset of 0 gives
    # the real time, from which the offset to `at` follows.
    os.environ["FAKETIME"] = "+0"
    os.environ["FAKETIME"] = f"{at - time.time():+.6f}"


def pytest_configure(config: pytest.Config) -> None:
    at = _start_at(config)
    if at is None:
        return
    if "faketime" not in os.environ.get("LD_PRELOAD", "") or not os.environ.get(
        "FAKETIME_NO_CACHE"
    ):
        raise pytest.UsageError("--clock-at needs LD_PRELOAD=libfaketime and FAKETIME_NO_CACHE=1")
    _restart(at)
    if abs(dt.datetime.now(dt.UTC).timestamp() - at) > 60:
        raise pytest.UsageError("libfaketime is preloaded but does not move the clock")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    at = _start_at(item.config)
    if at is not None:
        _restart(at)
    yield


def pytest_report_header(config: pytest.Config) -> str | None:
    at = config.getoption("--clock-at")
    return f"clock: every test starts at {at} UTC (libfaketime)" if at else None
