from __future__ import annotations

import datetime as dt
import itertools

import pytest

from reports.models import Report
from reports.services import report_create

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
_addresses = itertools.count(1)


@pytest.fixture
def send_reports(problem_types):
    """send_reports(service, minute, n, country=..., problem=...): n distinct reporters."""

    def send(service, minute: dt.datetime, n: int, *, country="DE", problem="login", same=False):
        for k in range(n):
            address = "203.0.113.1" if same else f"10.{next(_addresses) % 250}.{k % 250}.{k // 250}"
            report_create(
                service=service,
                problem=problem_types[problem],
                country=country,
                source=Report.Source.API,
                address=address,
                user_agent="flooder" if same else f"ua-{next(_addresses)}",
                now=minute + dt.timedelta(seconds=(k * 7) % 60),
            )

    return send
