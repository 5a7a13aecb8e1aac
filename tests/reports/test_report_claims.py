"""Dedup claims: each window claimed in one statement, concurrent claims counted once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from outagewatch.group_commit import GroupCommit, _Slot
from reports import services
from reports.api.serializers import ReportCreatedSerializer
from reports.models import BlockWindow, Report, ReporterWindow, Service
from reports.networks import block_window_end, network_keys
from tests.concurrency import at_once

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture(params=["one statement", "transaction"])
def writer(request, monkeypatch):
    """Both ways of writing a report: PostgreSQL's single statement and the portable one."""
    if request.param == "one statement" and not POSTGRESQL:
        pytest.skip("data-modifying CTEs are PostgreSQL's")
    if request.param == "transaction":
        monkeypatch.setattr(services, "_report_write_statements", _write_each)
    return request.param


def _write_each(writes):
    for write in writes:
        services._report_write(write)


def _report(service, problem, *, address, now=NOW, countable=True):
    return services.report_create(
        service=service,
        problem=problem,
        country="DE",
        source=Report.Source.API,
        address=address,
        countable=countable,
        now=now,
    )


@pytest.mark.django_db
def test_both_writers_count_one_report_per_network_and_cap_the_block(
    writer, service, problem_types, settings
):
    settings.REPORT_BLOCK_MAX_COUNTED = 2
    login = problem_types["login"]
    counted = [_report(service, login, address=f"100.64.{net}.1").counted for net in range(4)]
    assert counted == [True, True, False, False]
    assert not _report(service, login, address="100.64.0.9").counted  # same network
    later = NOW + dt.timedelta(minutes=121)
    assert _report(service, login, address="100.64.0.1", now=later).counted
    assert BlockWindow.objects.get().counted == 1  # a new block window
    assert not _report(service, login, address="100.65.0.1", countable=False).counted
    assert Report.objects.count() == 7
    assert ReporterWindow.objects.count() == 4  # the unchecked report claimed nothing


@pytest.mark.django_db
def test_both_writers_cap_an_ipv6_block_of_many_sites(writer, service, problem_types, settings):
    # An IPv6 block is the /32 (a provider's allocation), over many /48 sites: a block of
    # one /48 could never reach its cap, which no test noticed (mutation tester, 46th session).
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    login = problem_types["login"]
    sites = [f"2001:db8:{site:x}::1" for site in range(1, 7)]
    assert len({network_keys(address).site for address in sites}) == 6
    assert len({network_keys(address).block for address in sites}) == 1
    counted = [_report(service, login, address=address).counted for address in sites]
    assert counted == [True] * 4 + [False] * 2
    assert _report(service, login, address="2001:db9:1::1").counted  # another /32


def _counted_times(service, problem, times, *, first_net=0):
    """Report from a new network of block 100.64/16 at each of times; the times counted."""
    return [
        at
        for net, at in enumerate(times, start=first_net)
        if _report(service, problem, address=f"100.64.{net % 256}.{1 + net // 256}", now=at).counted
    ]


@pytest.mark.django_db
def test_both_writers_hold_a_block_to_its_cap_across_the_turn_of_its_window(
    writer, service, problem_types, settings
):
    """Red-team tester (forty-second session): at the turn of its fixed window a block added
    its cap just before and again just after, twice the cap within a minute."""
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    login = problem_types["login"]
    end = block_window_end(network_keys("100.64.0.1").block, NOW, 60)
    before = [end - dt.timedelta(seconds=50 - s) for s in range(4)]
    after = [end + dt.timedelta(seconds=10 + s) for s in range(4)]
    assert _counted_times(service, login, before + after) == before
    # The window before weighs less as it slides out: one more an eighth of the way in.
    eighth = [end + dt.timedelta(minutes=m) for m in (7, 8, 9)]
    assert _counted_times(service, login, eighth, first_net=8) == eighth[1:2]


@pytest.mark.django_db
def test_both_writers_give_a_quiet_block_its_whole_cap_again(
    writer, service, problem_types, settings
):
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    login = problem_types["login"]
    end = block_window_end(network_keys("100.64.0.1").block, NOW, 60)
    burst = [end - dt.timedelta(minutes=70, seconds=-s) for s in range(6)]
    assert len(_counted_times(service, login, burst)) == 4
    # A whole window without a report since: the next window owes nothing to that burst.
    later = [end + dt.timedelta(seconds=s) for s in range(1, 7)]
    assert len(_counted_times(service, login, later, first_net=6)) == 4


@pytest.mark.django_db
def test_a_block_never_adds_more_than_its_cap_within_minutes(
    writer, service, problem_types, settings
):
    """A new network of the block every 20 seconds for five hours: however the grid's turns
    fall, no 7 minutes count more than the cap, no hour more than twice the cap, and the
    block keeps counting at about its cap an hour."""
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    times = [NOW + dt.timedelta(seconds=20 * i) for i in range(3 * 60 * 5)]
    counted = _counted_times(service, problem_types["login"], times)
    for span, most in ((dt.timedelta(minutes=7), 4), (dt.timedelta(minutes=60), 8)):
        assert max(sum(at <= t < at + span for t in counted) for at in counted) <= most
    assert 4 * 5 - 1 <= len(counted) <= 4 * 5 + 1


@pytest.mark.django_db
def test_both_writers_claim_an_ipv6_sites_window_and_say_why(writer, service, problem_types):
    login = problem_types["login"]
    reasons = [
        _report(service, login, address=address).uncounted
        for address in ("2001:db8:1:100::1", "2001:db8:1:200::1", "2001:db8:2::1")
    ]
    assert reasons == [services.Uncounted.NONE, services.Uncounted.REPEAT, services.Uncounted.NONE]
    unchecked = _report(service, login, address="2001:db8:3::1", countable=False)
    assert unchecked.uncounted is services.Uncounted.UNCHECKED


@pytest.mark.django_db
def test_both_writers_return_the_stored_row(writer, service, problem_types):
    created = _report(service, problem_types["login"], address="203.0.113.7")
    stored = Report.objects.get(pk=created.report.pk)
    assert (stored.counted, stored.reporter_key, stored.created_at) == (
        True,
        created.report.reporter_key,
        NOW,
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_from_one_network_count_once(writer, service, problem_types):
    login = problem_types["login"]
    results, errors = at_once(
        8, lambda i: _report(service, login, address=f"198.51.100.{i}").counted
    )
    assert errors == [None] * 8
    assert sorted(results) == [False] * 7 + [True]
    assert Report.objects.filter(counted=True).count() == 1
    assert Report.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_from_one_block_stop_at_its_cap(
    writer, service, problem_types, settings
):
    settings.REPORT_BLOCK_MAX_COUNTED = 3
    login = problem_types["login"]
    results, errors = at_once(8, lambda i: _report(service, login, address=f"100.64.{i}.1").counted)
    assert errors == [None] * 8
    assert results.count(True) == 3
    assert BlockWindow.objects.get().counted == 3
    assert ReporterWindow.objects.count() == 8  # every network spent its window


@pytest.mark.django_db(transaction=True)
def test_a_report_retried_alone_after_its_batch_failed_is_claimed_afresh(
    writer, service, problem_types, monkeypatch
):
    """Maintainer review (forty-third session): retried alone, a report kept the counted flag
    (and row id) of its rolled-back first attempt, so it was stored as counted although
    another process had claimed its network's window in between."""
    login = problem_types["login"]

    def write(service_, address: str) -> services._ReportWrite:
        keys = network_keys(address)
        report = Report(
            service=service_, problem=login, country="DE", source=Report.Source.API,
            created_at=NOW, reporter_key=keys.network, block_key=keys.block, counted=False,
        )  # fmt: skip
        return services._ReportWrite(report=report, site=keys.site, countable=True, now=NOW)

    good = write(service, "198.51.100.7")
    gone = write(Service(pk=987654, slug="gone", name="Gone"), "192.0.2.9")  # deleted: FK fails
    retry_alone = services._group_commit._retry_alone

    def another_process_claims_first(exc: Exception) -> bool:
        until = NOW + dt.timedelta(minutes=15)
        ReporterWindow.objects.create(reporter_key=good.site, service=service, counted_until=until)
        return retry_alone(exc)

    monkeypatch.setattr(services._group_commit, "_retry_alone", another_process_claims_first)
    services._group_commit._run([_Slot(good), _Slot(gone)])
    stored = Report.objects.get(pk=good.report.pk)
    assert (good.report.counted, good.site_claimed, stored.counted) == (False, False, False)
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_one_report_post_is_one_statement_on_postgresql(api_client, service):
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"})
    api_client.post("/api/v1/reports/", data=body, content_type="application/json")  # warm-up
    for address in ("203.0.113.7", "203.0.113.8"):  # a new network, then a repeat
        with CaptureQueriesContext(connection) as queries:
            response = api_client.post(
                "/api/v1/reports/", data=body, content_type="application/json", REMOTE_ADDR=address
            )
        assert response.status_code == 201
        # PostgreSQL: claims and row in one statement. Elsewhere: the two claims and the
        # INSERT (plus the transaction's own statements where the backend logs them).
        assert len(queries) <= (1 if POSTGRESQL else 5), [q["sql"] for q in queries]


@pytest.mark.django_db
def test_created_answer_is_what_the_documented_serializer_says(api_client, service):
    body = json.dumps(
        {"service": "acme", "problem": "login", "country": "DE", "subdivision": "DE-BE"}
    )
    response = api_client.post("/api/v1/reports/", data=body, content_type="application/json")
    report = Report.objects.get(pk=response.json()["id"])
    assert response.json()["message"] == "Thanks — your report about Acme Cloud was counted."
    report.message = response.json()["message"]  # the answer's own field, not the model's
    assert response.json() == ReportCreatedSerializer(report).data


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deleted", [None, 6], ids=["all valid", "one service deleted"])
def test_concurrent_reports_share_one_transaction_and_each_gets_its_own_row(
    writer, deleted, service, problem_types, make_service, monkeypatch
):
    """Reports queued while another is being written go in one batch; a report whose service
    was deleted meanwhile fails alone (the batch is retried one by one)."""
    gone = make_service("gone", "Gone")
    gone_id = gone.pk
    gone.delete()
    gone.pk = gone_id  # the catalog in memory still had it
    login = problem_types["login"]
    sizes: list[int] = []
    gate = threading.Event()
    write_one, write_batch = services._write_one, services._write_batch

    def first_waits(write):
        gate.wait(10)
        return write_one(write)

    def batch(writes):
        sizes.append(len(writes))
        return write_batch(writes)

    group = GroupCommit(batch, first_waits, max_batch=64)
    monkeypatch.setattr(services, "_group_commit", group)
    targets = [service] * 8
    if deleted is not None:
        targets[deleted] = gone
    answers: dict[int, object] = {}

    def run(i: int) -> None:
        try:
            answers[i] = _report(targets[i], login, address=f"10.{i}.0.1")
        except services.CatalogChanged as exc:
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    threads[0].start()
    while not group._writing:
        time.sleep(0.005)
    for thread in threads[1:]:
        thread.start()
    while len(group._pending) < len(targets) - 1:
        time.sleep(0.005)
    gate.set()
    for thread in threads:
        thread.join(20)

    assert sizes == [len(targets) - 1]  # everyone who queued behind the first, together
    stored = {r.pk: r for r in Report.objects.all()}
    assert len(stored) == len(targets) - (deleted is not None)
    for i, answer in answers.items():
        if i == deleted:
            assert isinstance(answer, services.CatalogChanged)
            continue
        row = stored[answer.report.pk]
        assert (row.reporter_key, row.counted) == (answer.report.reporter_key, True)


def test_a_failed_batch_is_retried_report_by_report_only_when_one_report_may_be_at_fault():
    import psycopg
    from django.db import IntegrityError, OperationalError

    def wrapped(cause):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    assert services._retry_alone(IntegrityError("service deleted meanwhile"))
    assert services._retry_alone(wrapped(psycopg.errors.DeadlockDetected("deadlock")))
    assert not services._retry_alone(wrapped(psycopg.OperationalError("connection refused")))


@pytest.mark.skipif(not POSTGRESQL, reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_report_statement_is_planned_once_per_connection(service, problem_types):
    """With prepared statements on (the web server's default), the report write is prepared
    once per connection: planning it each time cost more than running it (bench/load/README.md,
    "Planned once")."""
    connection.ensure_connection()
    raw = connection.connection
    # What DB_POOL's settings give the web server's connections (tests run without a pool).
    raw.prepare_threshold = 5
    try:
        login = problem_types["login"]
        for net in range(3):
            _report(service, login, address=f"100.64.{net}.1")
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
    finally:
        raw.prepare_threshold = None  # Django's default, as the other tests expect
    writes = [sql for sql in prepared if 'INSERT INTO "reports_report"' in sql]
    assert len(writes) == 1 and writes[0].startswith("WITH network AS"), prepared
