"""The alert tables moved from detection to alerts with their rows (alerts 0001)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_subscriptions_and_deliveries_survive_the_move():
    executor = MigrationExecutor(connection)
    before = [("detection", "0009_series_evidence"), ("reports", "0003_network_evidence")]
    # Unapplying detection 0010 alone would leave alerts 0001 (and its renamed tables).
    executor.migrate([("alerts", None), *before])
    old = executor.loader.project_state(before).apps
    category = old.get_model("reports", "Category").objects.create(slug="c", name="C")
    service = old.get_model("reports", "Service").objects.create(
        slug="acme-m", name="Acme", category=category, website="https://acme.example"
    )
    outage = old.get_model("detection", "Outage").objects.create(
        service=service, started_at="2026-11-30T12:00:00Z", detected_at="2026-11-30T12:02:00Z"
    )
    subscription = old.get_model("detection", "Subscription").objects.create(
        email="ann@example.com", service=service, countries=["DE"], confirmed_at=outage.started_at
    )
    old.get_model("detection", "AlertDelivery").objects.create(
        outage=outage, subscription=subscription, kind="opened", status="sent"
    )
    old.get_model("detection", "ConfirmationDelivery").objects.create(
        subscription=subscription, address_key="ann@example.com", status="sent"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription

    moved = Subscription.objects.get()
    assert (moved.pk, moved.email, moved.countries) == (subscription.pk, "ann@example.com", ["DE"])
    delivery = AlertDelivery.objects.get()
    assert (delivery.outage_id, delivery.subscription_id, delivery.status) == (
        outage.pk,
        moved.pk,
        "sent",
    )
    assert ConfirmationDelivery.objects.get().subscription_id == moved.pk
    assert AlertDelivery._meta.db_table == "alerts_alertdelivery"
    # The constraints came along: still one delivery per (outage, subscription, kind).
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertDelivery.objects.create(outage_id=outage.pk, subscription=moved, kind="opened")
    # New rows get fresh ids after the moved ones.
    assert Subscription.objects.create(email="bo@example.com", service_id=service.pk).pk > moved.pk
