"""Writes: report ingestion."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from reports.models import ProblemType, Report, ReporterWindow, Service

_REPORTER_SALT = "outagewatch.reports.reporter_key"


@dataclass(frozen=True)
class ReportCreated:
    report: Report

    @property
    def counted(self) -> bool:
        return self.report.counted

    @property
    def message(self) -> str:
        if self.counted:
            return f"Thanks — your report about {self.report.service.name} was counted."
        minutes = settings.REPORT_DEDUP_WINDOW_MINUTES
        return (
            f"Thanks — we stored your report, but you already reported {self.report.service.name} "
            f"in the last {minutes} minutes, so it counts once."
        )


def reporter_key_make(*, address: str, user_agent: str) -> str:
    """A keyed hash that tells reporters apart without storing their address."""
    return salted_hmac(_REPORTER_SALT, f"{address}\n{user_agent}", algorithm="sha256").hexdigest()


def report_create(
    *,
    service: Service,
    problem: ProblemType,
    country: str,
    subdivision: str = "",
    comment: str = "",
    source: str,
    address: str,
    user_agent: str,
    now: dt.datetime | None = None,
) -> ReportCreated:
    """Store a validated report; it counts unless the reporter already counted recently."""
    now = now or timezone.now()
    reporter_key = reporter_key_make(address=address, user_agent=user_agent)
    with transaction.atomic():
        counted = _counted_window_claim(reporter_key=reporter_key, service=service, now=now)
        report = Report.objects.create(
            service=service,
            problem=problem,
            country=country,
            subdivision=subdivision,
            comment=comment,
            source=source,
            created_at=now,
            reporter_key=reporter_key,
            counted=counted,
        )
    return ReportCreated(report=report)


def _counted_window_claim(*, reporter_key: str, service: Service, now: dt.datetime) -> bool:
    """Claim the reporter's dedup window for this service; False if it is still held."""
    until = now + dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES)
    windows = ReporterWindow.objects.filter(reporter_key=reporter_key, service=service)
    if windows.filter(counted_until__lte=now).update(counted_until=until):
        return True
    try:
        with transaction.atomic():
            ReporterWindow.objects.create(
                reporter_key=reporter_key, service=service, counted_until=until
            )
    except IntegrityError:
        return False
    return True


def reporter_windows_purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired dedup windows; they carry no information once expired."""
    deleted, _ = ReporterWindow.objects.filter(counted_until__lte=now or timezone.now()).delete()
    return deleted
