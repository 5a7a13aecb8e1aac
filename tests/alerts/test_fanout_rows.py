"""The fan-out inside the detector's transaction reads what it needs of a giant service's
followers, no more (bench/alerts/README.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription

pytestmark = pytest.mark.django_db


def test_the_fan_out_reads_ids_and_countries_not_whole_subscriptions(service, outage, monkeypatch):
    Subscription.objects.bulk_create(
        Subscription(
            email=f"f{k}@example.com",
            service=service,
            countries=["DE"] if k else ["FR"],
            confirmed_at=timezone.now(),
        )
        for k in range(4)
    )
    loaded: list[int] = []
    from_db = Subscription.from_db.__func__  # type: ignore[attr-defined]

    def counted(cls, *args, **kwargs):
        loaded.append(1)
        return from_db(cls, *args, **kwargs)

    monkeypatch.setattr(Subscription, "from_db", classmethod(counted))

    told = services.alerts_notify(outage=outage(countries=["DE"]), change="opened")

    # The same people as ever (the French follower is not concerned), from (id, countries).
    assert told == 3
    assert set(AlertDelivery.objects.values_list("subscription__email", flat=True)) == {
        "f1@example.com",
        "f2@example.com",
        "f3@example.com",
    }
    assert loaded == []


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement insert is PostgreSQL's"
)


@postgresql_only
def test_the_fan_out_inserts_its_rows_in_one_statement_without_models(service, outage, monkeypatch):
    """bulk_create's 50,000 models took 4.5 s of the tick (bench/alerts/README.md)."""
    _followers(service, 30)
    built: list[int] = []
    init = AlertDelivery.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        init(self, *args, **kwargs)

    happening = outage()
    monkeypatch.setattr(AlertDelivery, "__init__", counted)
    with CaptureQueriesContext(connection) as queries:
        told = services.alerts_notify(outage=happening, change="opened")

    assert told == 30 and AlertDelivery.objects.count() == 30
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert len(built) <= 1  # the one row whose values every row gets


def test_the_rows_of_a_fan_out_are_the_rows_the_orm_writes(service, outage):
    """Every column as a saved model gets it (a column added later included), and a row
    already there is left alone."""
    first, second = _followers(service, 2)
    happening = outage()
    now = timezone.now()
    made = AlertDelivery.objects.create(
        outage=happening, subscription=first, kind="opened", episode=0, next_attempt_at=now
    )
    AlertDelivery.objects.filter(pk=made.pk).update(status="sent")

    services.alerts_notify(outage=happening, change="opened", now=now)

    inserted = AlertDelivery.objects.get(subscription=second)
    assert AlertDelivery.objects.get(pk=made.pk).status == "sent"
    skip = {"id", "subscription_id", "status", "created_at"}
    for field in AlertDelivery._meta.concrete_fields:
        if field.attname not in skip:
            assert getattr(inserted, field.attname) == getattr(made, field.attname), field.name
    assert inserted.status == "pending"
    assert abs(inserted.created_at - made.created_at).total_seconds() < 60


def test_a_fan_out_larger_than_a_batch_tells_everyone_once(service, outage):
    _followers(service, 2500)
    happening = outage()

    assert services.alerts_notify(outage=happening, change="opened") == 2500
    assert services.alerts_notify(outage=happening, change="opened") == 2500  # no new rows

    rows = AlertDelivery.objects.filter(outage=happening)
    assert rows.count() == 2500
    assert rows.values("subscription_id").distinct().count() == 2500


def _followers(service, count: int) -> list[Subscription]:
    return Subscription.objects.bulk_create(
        Subscription(email=f"g{k}@example.com", service=service, confirmed_at=timezone.now())
        for k in range(count)
    )
