"""Retention: raw reports and minute buckets are kept for a while, hourly rollups for long
(for ever unless HOURLY_BUCKET_RETENTION_DAYS says otherwise)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from detection.models import Bucket, HourlyBucket
from detection.services.outage_tally import outage_networks_purge
from detection.services.sites import sites_purge
from reports import intake
from reports.models import CommentFlag, Report
from reports.services import reporter_windows_purge

# Reports deleted per transaction. A report's comment flags cascade, so Django loads the rows
# it deletes: all of them at once took 1.5 KB a report and one transaction (155k reports:
# 230 MB; a busy day's million, 1.5 GB).
PURGE_BATCH = 10_000


@dataclass(frozen=True)
class RetentionPurged:
    reports: int
    buckets: int
    hourly_buckets: int
    reporter_windows: int
    outage_networks: int
    unchecked_minutes: int
    series_sites: int
    problem_sites: int


def retention_purge(*, now: dt.datetime | None = None) -> RetentionPurged:
    now = now or timezone.now()
    reports = _reports_purge(before=now - dt.timedelta(days=settings.REPORT_RETENTION_DAYS))
    buckets, _ = Bucket.objects.filter(
        minute__lt=now - dt.timedelta(days=settings.BUCKET_RETENTION_DAYS)
    ).delete()
    hourly = 0
    if settings.HOURLY_BUCKET_RETENTION_DAYS:  # 0: kept for ever
        hourly, _ = HourlyBucket.objects.filter(
            hour__lt=now - dt.timedelta(days=settings.HOURLY_BUCKET_RETENTION_DAYS)
        ).delete()
    windows = reporter_windows_purge(now=now)
    # An outage counts its networks only while it can still reopen; a day more leaves room
    # for a detector catching up on minutes that old.
    networks = outage_networks_purge(
        before=now - dt.timedelta(minutes=settings.OUTAGE_REOPEN_MINUTES, days=1)
    )
    # A minute marked unchecked matters only to a tick catching up on it (reports.intake).
    unchecked = intake.marks_purge(before=now - intake.KEEP)
    sites = sites_purge(now=now)
    return RetentionPurged(
        reports=reports,
        buckets=buckets,
        hourly_buckets=hourly,
        reporter_windows=windows,
        outage_networks=networks,
        unchecked_minutes=unchecked,
        series_sites=sites["series_site"],
        problem_sites=sites["problem_site"],
    )


def _reports_purge(*, before: dt.datetime) -> int:
    """Delete the reports created before `before`, oldest first, PURGE_BATCH per transaction;
    returns how many."""
    deleted = 0
    while True:
        ids = list(
            Report.objects.filter(created_at__lt=before)
            .order_by("created_at")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            CommentFlag.objects.filter(report_id__in=ids).delete()
            _, by_model = Report.objects.filter(pk__in=ids).delete()
        deleted += by_model.get(Report._meta.label, 0)
