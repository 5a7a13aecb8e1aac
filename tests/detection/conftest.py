from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from reports.models import Report
from reports.services import report_create
from tests.conftest import crowd_address

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
_addresses = itertools.count(1)


def stored_compression(model, field: str, pk: int) -> tuple[str, str]:
    """PostgreSQL: (the method a stored value of `field` is compressed with, the method the
    large values of the tick's tables should have: lz4 where the server has it, else pglz)."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        expected = "lz4" if cursor.fetchone()[0] else "pglz"
        cursor.execute(f"SELECT pg_column_compression({column}) FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0], expected


@pytest.fixture
def send_reports(problem_types):
    """send_reports(service, minute, n, country=..., problem=...): n distinct networks."""

    def send(service, minute: dt.datetime, n: int, *, country="DE", problem="login", same=False):
        for k in range(n):
            address = "203.0.113.1" if same else crowd_address(next(_addresses))
            report_create(
                service=service,
                problem=problem_types[problem],
                country=country,
                source=Report.Source.API,
                address=address,
                now=minute + dt.timedelta(seconds=(k * 7) % 60),
            )

    return send


@pytest.fixture
def history(service):
    """Three days of ~2 counted reports a minute (overall and DE), and fitted baselines."""
    return history_fill(service, {"DE": 2.0})


def history_fill(service, rates: dict[str, float]):
    """Three days before T0 of Poisson counts at ``rates`` a minute per country (the overall
    series their sum), the buckets' watermark at T0, and fitted baselines."""
    from detection.models import Bucket, JobCursor
    from detection.services import baselines_refit

    rng = np.random.default_rng(7)
    rows = []
    for k in range(3 * 1440):
        minute = T0 - dt.timedelta(days=3) + k * dt.timedelta(minutes=1)
        counts = {country: int(rng.poisson(rate)) for country, rate in rates.items()}
        for country, n in {"": sum(counts.values()), **counts}.items():
            rows.append(
                Bucket(service=service, country=country, minute=minute, reports=n, counted=n,
                       reporters=n, problems={"login": n} if n else {})
            )  # fmt: skip
    Bucket.objects.bulk_create(rows)
    for country in rates:
        sites_admit(service, country, T0 - dt.timedelta(minutes=1))
    JobCursor.objects.create(name="buckets", position=T0)
    baselines_refit(now=T0)
    return service


def sites_admit(service, country: str, last_seen: dt.datetime) -> None:
    """As many sites as a country needs to be a series, the latest at `last_seen` (buckets
    written directly come with no reports, whose sites the aggregation records)."""
    from django.conf import settings

    from detection.models import SeriesSite

    SeriesSite.objects.bulk_create(
        SeriesSite(service=service, country=country, site_key=f"site-{k}", last_seen=last_seen)
        for k in range(settings.SERIES_MIN_SITES)
    )
