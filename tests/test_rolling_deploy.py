"""`migrate` runs while the previous release still serves (docs/deployment.md), so what a
release adds must not break that release's writes, and what it stops using must stay until the
release after. A column added has a database default: the previous release's INSERTs name none
of the new columns (upgrade tester, forty-third session: every report answered 400 and every
sign-up 500 between `migrate` and the restart). A table or column is not dropped, renamed or
removed in the release that stops using it (operator tester, fiftieth session: migration
detection 0031 dropped a table the previous detector wrote, and it failed every minute until
the restart)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.models import NOT_PROVIDED

from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription, UpstreamDelivery
from detection.models import Outage, UpstreamOutage
from reports.models import BlockWindow, CommentFlag, Provider

pytestmark = pytest.mark.django_db

ADDED = [
    (BlockWindow, "earlier"),
    (CommentFlag, "block_key"),
    (AlertDelivery, "maybe_sent"),
    (ConfirmationDelivery, "gathered"),
    (Outage, "paused_minutes"),
    (Outage, "tally"),
]


def _column_default(model, name: str) -> str | None:
    table, column = model._meta.db_table, model._meta.get_field(name).column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT column_default FROM information_schema.columns"
                " WHERE table_name = %s AND column_name = %s",
                [table, column],
            )
            return cursor.fetchone()[0]
        cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")
        return next(row[4] for row in cursor.fetchall() if row[1] == column)


# The newest migration of each app when the rule began to be checked from the migrations
# themselves: columns added up to these predate it (upgrading from those releases stops the
# site, docs/deployment.md). A new column was missed by the list above alone (contributor
# tester, forty-sixth session).
CHECKED_AFTER = {"reports": 15, "detection": 26, "alerts": 10}


def _new_operations() -> list[tuple[str, migrations.operations.base.Operation]]:
    """("app.migration", operation) of what each migration after CHECKED_AFTER does to the
    database (a state-only change does nothing there)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return [
        (f"{app}.{name}", operation)
        for (app, name), migration in sorted(loader.disk_migrations.items())
        if app in CHECKED_AFTER and int(name[:4]) > CHECKED_AFTER[app]
        for operation in _database_operations(migration.operations)
    ]


def _database_operations(operations) -> list:
    found = []
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            found += _database_operations(operation.database_operations)
        else:
            found.append(operation)
    return found


def _added_without_default() -> list[str]:
    return [
        f"{where}: {operation.model_name}.{operation.name}"
        for where, operation in _new_operations()
        if isinstance(operation, migrations.AddField)
        and not (
            operation.field.null
            or operation.field.many_to_many
            or operation.field.db_default is not NOT_PROVIDED
        )
    ]


def test_every_column_a_migration_adds_has_a_database_default():
    # The previous release's INSERTs name none of the new columns: NOT NULL without a
    # database default fails them between `migrate` and the restart.
    assert _added_without_default() == [], "give these fields db_default= (or null=True)"


def test_the_migration_check_sees_a_column_added_without_one(monkeypatch):
    # The check above must be able to fail: a migration that adds a plain column.
    loader_class = MigrationLoader

    class WithExtra(loader_class):
        def load_disk(self) -> None:
            super().load_disk()
            extra = migrations.Migration("9999_probe", "reports")
            extra.operations = [
                migrations.AddField("service", "tier", models.CharField(default="x", max_length=9))
            ]
            self.disk_migrations[("reports", "9999_probe")] = extra

    monkeypatch.setattr(__name__ + ".MigrationLoader", WithExtra)
    assert _added_without_default() == ["reports.9999_probe: service.tier"]


# Operations that take from the database what the previous release may still use.
_TAKING = (
    migrations.DeleteModel,
    migrations.RemoveField,
    migrations.RenameField,
    migrations.RenameModel,
)
# Drops of what an earlier release stopped using ("app.migration: operation"), each made at
# least one release after that: the previous release no longer uses it.
RELEASED_BEFORE: set[str] = set()


def _taken_while_serving() -> list[str]:
    found = [
        f"{where}: {operation.describe()}"
        for where, operation in _new_operations()
        if isinstance(operation, _TAKING)
    ]
    return [entry for entry in found if entry not in RELEASED_BEFORE]


def test_no_migration_takes_what_the_previous_release_uses():
    # A state-only removal (SeparateDatabaseAndState) leaves the table or column in place;
    # a later release drops it and lists the drop in RELEASED_BEFORE.
    assert _taken_while_serving() == [], "keep these one release more (docs/deployment.md)"


def test_the_migration_check_sees_a_table_dropped(monkeypatch):
    class WithDrop(MigrationLoader):
        def load_disk(self) -> None:
            super().load_disk()
            extra = migrations.Migration("9999_probe", "detection")
            extra.operations = [
                migrations.SeparateDatabaseAndState(
                    database_operations=[migrations.DeleteModel("SeriesSite")]
                ),
                migrations.RemoveField("outage", "tally"),
            ]
            self.disk_migrations[("detection", "9999_probe")] = extra

    monkeypatch.setattr(__name__ + ".MigrationLoader", WithDrop)
    assert _taken_while_serving() == [
        "detection.9999_probe: Delete model SeriesSite",
        "detection.9999_probe: Remove field tally from outage",
    ]


def test_the_previous_release_s_series_evidence_still_writes(service):
    # What its detector wrote every minute (detection 0009), left in place by 0031.
    table = connection.ops.quote_name("detection_seriesevidence")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (service_id, country, counted) VALUES (%s, 'DE', 3)",
            [service.pk],
        )
        cursor.execute(f"DELETE FROM {table} WHERE service_id = %s", [service.pk])
        assert cursor.rowcount == 1


@pytest.mark.parametrize(("model", "name"), ADDED, ids=[f"{m.__name__}.{n}" for m, n in ADDED])
def test_a_column_a_new_release_added_has_a_database_default(model, name):
    assert _column_default(model, name) is not None


def test_the_previous_release_s_block_claim_inserts_without_the_new_column(service):
    table = connection.ops.quote_name(BlockWindow._meta.db_table)
    until = connection.ops.adapt_datetimefield_value(dt.datetime(2026, 12, 6, 13, tzinfo=dt.UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (block_key, service_id, window_until, counted)"
            " VALUES (%s, %s, %s, 1)",
            ["k" * 64, service.pk, until],
        )
    assert BlockWindow.objects.get().earlier == 0


def test_the_previous_release_s_alert_delivery_inserts_without_the_message_id(service):
    # Its detector writes deliveries, and its worker sends them, naming no message_id: a
    # nullable column (none stored: alerts.emails derives the id, as that release does).
    now = dt.datetime(2026, 12, 7, 4, tzinfo=dt.UTC)
    outage = Outage.objects.create(service=service, started_at=now, detected_at=now)
    subscription = Subscription.objects.create(email="ann@example.com", service=service)
    table = connection.ops.quote_name(AlertDelivery._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (outage_id, subscription_id, kind, episode, status, attempts,"
            " last_error, created_at, next_attempt_at, maybe_sent)"
            " VALUES (%s, %s, 'opened', 0, 'pending', 0, '', %s, %s, %s)",
            [outage.pk, subscription.pk, at, at, False],
        )
    assert AlertDelivery.objects.get().message_id is None


def test_the_previous_release_s_confirmation_inserts_without_the_message_id(service):
    subscription = Subscription.objects.create(email="ann@example.com", service=service)
    table = connection.ops.quote_name(ConfirmationDelivery._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(dt.datetime(2026, 12, 7, 4, tzinfo=dt.UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscription_id, purpose, countries, timezone,"
            " notify_acknowledged, address_key, gathered, status, attempts, last_error,"
            " created_at, next_attempt_at)"
            " VALUES (%s, 'confirm', '[]', '', %s, 'ann@example.com', %s, 'pending', 0, '',"
            " %s, %s)",
            [subscription.pk, False, False, at, at],
        )
    assert ConfirmationDelivery.objects.get().message_id is None


def test_the_previous_release_s_upstream_delivery_inserts_without_the_message_id(service):
    at = dt.datetime(2026, 12, 7, 4, tzinfo=dt.UTC)
    upstream = UpstreamOutage.objects.create(
        provider=Provider.objects.first(), started_at=at, detected_at=at, chance=0.9
    )
    subscription = Subscription.objects.create(email="ann@example.com", service=service)
    table = connection.ops.quote_name(UpstreamDelivery._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (upstream_id, subscription_id, status, attempts, last_error,"
            " created_at, next_attempt_at) VALUES (%s, %s, 'pending', 0, '', %s, %s)",
            [upstream.pk, subscription.pk, stamp, stamp],
        )
    assert UpstreamDelivery.objects.get().message_id is None
