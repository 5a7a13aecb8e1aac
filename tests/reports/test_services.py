from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reports.models import Report, ReporterWindow
from reports.services import report_create, reporter_key_make, reporter_windows_purge

pytestmark = pytest.mark.django_db


def _report(service, problem, *, address="203.0.113.7", ua="Firefox", now=None):
    return report_create(
        service=service,
        problem=problem,
        country="DE",
        source=Report.Source.API,
        address=address,
        user_agent=ua,
        now=now,
    )


def test_report_is_stored_with_a_keyed_hash_and_never_the_address(service, problem_types):
    created = _report(service, problem_types["login"])
    report = Report.objects.get(pk=created.report.pk)
    assert report.counted is True
    assert len(report.reporter_key) == 64
    stored = " ".join(str(getattr(report, f.attname)) for f in Report._meta.fields)
    assert "203.0.113.7" not in stored
    assert report.reporter_key == reporter_key_make(address="203.0.113.7", user_agent="Firefox")


def test_reporter_key_depends_on_the_server_secret(settings):
    key = reporter_key_make(address="203.0.113.7", user_agent="Firefox")
    settings.SECRET_KEY = "another-secret-" * 4
    assert reporter_key_make(address="203.0.113.7", user_agent="Firefox") != key


def test_repeat_report_inside_window_is_stored_but_not_counted(service, problem_types):
    now = timezone.now()
    first = _report(service, problem_types["login"], now=now)
    second = _report(service, problem_types["website"], now=now + dt.timedelta(minutes=5))
    assert first.counted and not second.counted
    assert "counts once" in second.message
    assert Report.objects.count() == 2


def test_report_counts_again_after_the_window(service, problem_types, settings):
    now = timezone.now()
    _report(service, problem_types["login"], now=now)
    later = now + dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES, seconds=1)
    assert _report(service, problem_types["login"], now=later).counted


def test_repeats_do_not_extend_the_window(service, problem_types):
    now = timezone.now()
    _report(service, problem_types["login"], now=now)
    _report(service, problem_types["login"], now=now + dt.timedelta(minutes=14))
    assert _report(service, problem_types["login"], now=now + dt.timedelta(minutes=16)).counted


def test_other_people_and_other_services_count(service, make_service, problem_types):
    other_service = make_service("globex")
    assert _report(service, problem_types["login"]).counted
    assert _report(service, problem_types["login"], address="198.51.100.1").counted
    assert _report(service, problem_types["login"], ua="Chrome").counted
    assert _report(other_service, problem_types["login"]).counted


def test_purge_removes_only_expired_windows(service, make_service, problem_types):
    now = timezone.now()
    _report(service, problem_types["login"], now=now - dt.timedelta(hours=1))
    _report(make_service("globex"), problem_types["login"], now=now)
    assert reporter_windows_purge(now=now) == 1
    assert ReporterWindow.objects.count() == 1
