"""Retention: raw reports and minute buckets are kept for a while, hourly rollups for long."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from detection.models import Bucket
from detection.services.outage_tally import outage_networks_purge
from reports.models import Report
from reports.services import reporter_windows_purge


@dataclass(frozen=True)
class RetentionPurged:
    reports: int
    buckets: int
    reporter_windows: int
    outage_networks: int


def retention_purge(*, now: dt.datetime | None = None) -> RetentionPurged:
    now = now or timezone.now()
    reports, _ = Report.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.REPORT_RETENTION_DAYS)
    ).delete()
    buckets, _ = Bucket.objects.filter(
        minute__lt=now - dt.timedelta(days=settings.BUCKET_RETENTION_DAYS)
    ).delete()
    windows = reporter_windows_purge(now=now)
    # An outage counts its networks only while it can still reopen; a day more leaves room
    # for a detector catching up on minutes that old.
    networks = outage_networks_purge(
        before=now - dt.timedelta(minutes=settings.OUTAGE_REOPEN_MINUTES, days=1)
    )
    return RetentionPurged(
        reports=reports, buckets=buckets, reporter_windows=windows, outage_networks=networks
    )
