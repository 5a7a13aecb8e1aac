"""Writes: report ingestion."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from reports.models import BlockWindow, ProblemType, Report, ReporterWindow, Service
from reports.networks import NetworkKeys, network_keys


@dataclass(frozen=True)
class ReportCreated:
    report: Report

    @property
    def counted(self) -> bool:
        return self.report.counted

    @property
    def message(self) -> str:
        name = self.report.service.name
        if self.counted:
            return f"Thanks — your report about {name} was counted."
        minutes = settings.REPORT_DEDUP_WINDOW_MINUTES
        return (
            f"Thanks — we stored your report about {name}. Your network already reported it "
            f"in the last {minutes} minutes, so it counts once."
        )


def report_create(
    *,
    service: Service,
    problem: ProblemType,
    country: str,
    subdivision: str = "",
    comment: str = "",
    source: str,
    address: str,
    countable: bool = True,
    now: dt.datetime | None = None,
) -> ReportCreated:
    """Store a validated report; it counts as evidence if its network may add one now.

    countable=False (the rate limit could not be checked) stores the report uncounted:
    never counted unchecked, never dropped.
    """
    now = now or timezone.now()
    keys = network_keys(address)
    with transaction.atomic():
        counted = countable and _counted_claim(keys=keys, service=service, now=now)
        report = Report.objects.create(
            service=service,
            problem=problem,
            country=country,
            subdivision=subdivision,
            comment=comment,
            source=source,
            created_at=now,
            reporter_key=keys.network,
            block_key=keys.block,
            counted=counted,
        )
    return ReportCreated(report=report)


def _counted_claim(*, keys: NetworkKeys, service: Service, now: dt.datetime) -> bool:
    """One counted report per network per dedup window, and a capped number per block.

    The network's window is claimed first: a network whose block is full still spends its
    window, so it cannot retry its way in.
    """
    if not _network_window_claim(reporter_key=keys.network, service=service, now=now):
        return False
    return _block_window_claim(block_key=keys.block, service=service, now=now)


def _network_window_claim(*, reporter_key: str, service: Service, now: dt.datetime) -> bool:
    """Claim the network's dedup window for this service; False if it is still held."""
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


def _block_window_claim(*, block_key: str, service: Service, now: dt.datetime) -> bool:
    """Take one of the block's counted reports for this service; False when it has none left."""
    cap = settings.REPORT_BLOCK_MAX_COUNTED
    until = now + dt.timedelta(minutes=settings.REPORT_BLOCK_WINDOW_MINUTES)
    windows = BlockWindow.objects.filter(block_key=block_key, service=service)
    # Conditional UPDATEs: concurrent reports from one block cannot exceed the cap.
    if windows.filter(window_until__lte=now).update(window_until=until, counted=1):
        return True
    if windows.filter(window_until__gt=now, counted__lt=cap).update(counted=F("counted") + 1):
        return True
    try:
        with transaction.atomic():
            BlockWindow.objects.create(
                block_key=block_key, service=service, window_until=until, counted=1
            )
    except IntegrityError:
        # Someone else created it meanwhile: one more try at the conditional UPDATE.
        return bool(
            windows.filter(window_until__gt=now, counted__lt=cap).update(counted=F("counted") + 1)
        )
    return True


def reporter_windows_purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired dedup and block windows; they carry no information once expired."""
    now = now or timezone.now()
    deleted, _ = ReporterWindow.objects.filter(counted_until__lte=now).delete()
    blocks, _ = BlockWindow.objects.filter(window_until__lte=now).delete()
    return deleted + blocks
