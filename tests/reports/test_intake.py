"""Report submissions that found no database are counted per minute (reports.intake), for the
tick to tell a minute it did not hear from a quiet one; nothing else is."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from outagewatch.redis_rest import redis_rest_forget
from reports import intake, services
from reports.models import Report, UncheckedMinute

pytestmark = pytest.mark.django_db
REPORT = {"service": "acme", "problem": "login", "country": "DE"}


def failed_during(request) -> tuple[int, int]:
    """(status, submissions counted as failed in the minutes the request spanned)."""
    first = timezone.now()
    response = request(Client(raise_request_exception=False))
    last = timezone.now()
    minutes = {first.replace(second=0, microsecond=0), last.replace(second=0, microsecond=0)}
    return response.status_code, sum(intake.submissions_failed(m) for m in minutes)


@pytest.fixture
def database_away(monkeypatch):
    """Storing a report raises `exc` (a database that does not answer, by default)."""
    state = {"exc": OperationalError("connection refused")}

    def report_create(**kwargs):
        raise state["exc"]

    monkeypatch.setattr(services, "report_create", report_create)
    return state


def api_post(client):
    return client.post("/api/v1/reports/", json.dumps(REPORT), content_type="application/json")


def form_post(client):
    return client.post("/services/acme/", {"problem": "login", "country": "DE"})


def test_an_api_report_that_found_no_database_is_counted(service, database_away):
    assert failed_during(api_post) == (503, 1)
    assert failed_during(api_post) == (503, 2)


def test_a_website_report_that_found_no_database_is_counted(service, database_away):
    assert failed_during(form_post) == (503, 1)


def test_only_report_submissions_are_counted(service, monkeypatch):
    from reports import selectors, views

    def service_get(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "service_get", service_get)
    # The service page looks the service up in the process's catalog copy (a load that
    # found no database, for a process without a copy yet).
    monkeypatch.setattr(views, "catalog_service", service_get)
    assert failed_during(lambda c: c.get("/services/acme/")) == (503, 0)
    flag = "/services/acme/comments/1/flag/"
    assert failed_during(lambda c: c.post(flag, {"reason": "spam"}))[1] == 0
    assert failed_during(form_post) == (503, 1)  # the same error, on a submission


def test_another_error_is_not_counted(service, database_away):
    """Only a database that did not answer counts: an error one request could provoke must
    not let a client hold every open outage open."""
    database_away["exc"] = ZeroDivisionError("boom")
    assert failed_during(api_post) == (500, 0)


def test_with_redis_away_too_the_answer_is_still_a_503(service, database_away, redis_down):
    assert failed_during(api_post) == (503, 0)


def test_the_count_keeps_nothing_of_the_client(service, database_away, redis_url):
    address = "203.0.113.9"
    response = Client(REMOTE_ADDR=address).post(
        "/api/v1/reports/", json.dumps(REPORT), content_type="application/json"
    )
    assert response.status_code == 503
    stored = redis.Redis.from_url(redis_url)
    keys = [key for key in stored.keys("*") if b"intake-failed" in key]
    assert len(keys) == 1
    assert address.encode() not in keys[0] and address.encode() not in stored.get(keys[0])


def test_a_report_stored_unchecked_marks_its_minute_once(service, problem_types):
    """Redis away: reports are stored uncounted, and their minute is marked in the database
    (one row, written once by this process), for the tick to read as unheard."""
    at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    for n in range(3):
        created = services.report_create(
            service=service,
            problem=problem_types["login"],
            country="DE",
            source=Report.Source.API,
            address=f"198.51.100.{n}",
            countable=False,
            now=at + timedelta(seconds=n),
        )
        assert Report.objects.filter(pk=created.report.pk, counted=False).exists()
    assert list(UncheckedMinute.objects.values_list("minute", flat=True)) == [at]
    assert "uncounted" in intake.minute_unheard(at, stored=100)
    assert intake.minute_unheard(at + timedelta(minutes=1), stored=0) == ""
    assert intake.marks_purge(before=at) == 0
    assert intake.marks_purge(before=at + timedelta(minutes=1)) == 1


def test_failed_submissions_make_a_minute_unheard_only_against_fewer_stored(service):
    at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    for _ in range(3):
        intake.submission_failed(now=at + timedelta(seconds=30))
    assert intake.minute_unheard(at, stored=3) == "3 report submissions found no database"
    assert intake.minute_unheard(at, stored=4) == ""


def test_a_redis_that_just_failed_is_not_asked_about_failed_submissions(monkeypatch):
    """A hung Redis costs the status reads its socket timeout once per rest, not per read."""
    at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    intake.submission_failed(now=at + timedelta(seconds=30))
    asked = []

    class Hung:
        def get_many(self, keys):
            asked.append(keys)
            raise redis.exceptions.TimeoutError("Timeout reading from socket")

    with monkeypatch.context() as patched:
        patched.setattr(intake, "cache", Hung())
        assert intake.submissions_failed(at) == 0  # Redis cannot say
        assert intake.submissions_failed(at) == 0
    assert len(asked) == 1  # the second read went on without it
    redis_rest_forget()
    assert intake.submissions_failed(at) == 1


def test_reports_stored_with_redis_away_mark_their_minute(service, redis_down):
    response = Client().post(
        "/api/v1/reports/", json.dumps(REPORT), content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["counted"] is False
    assert UncheckedMinute.objects.count() == 1


def test_many_minutes_are_judged_in_one_query(service, django_assert_num_queries):
    """Each minute by minute_unheard's rules, the marks of all of them read at once, and the
    stored reports asked for only of the minutes in which submissions failed."""
    at = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    minutes = [at + timedelta(minutes=m) for m in range(5)]
    UncheckedMinute.objects.create(minute=minutes[1])
    for m, failures in ((2, 3), (3, 1)):
        for _ in range(failures):
            intake.submission_failed(now=minutes[m] + timedelta(seconds=30))
    asked = []

    def stored(failing):
        asked.append(failing)
        return {minutes[2]: 3, minutes[3]: 2}

    with django_assert_num_queries(1):
        reasons = intake.minutes_unheard(minutes, stored)
    assert reasons == {
        minutes[1]: intake.UNCHECKED,
        minutes[2]: "3 report submissions found no database",
    }
    assert asked == [[minutes[2], minutes[3]]]
    assert intake.minutes_unheard([], stored) == {}
