"""Columns added for a new release have database defaults: `migrate` runs while the previous
release still serves (docs/deployment.md), and its INSERTs name none of them (upgrade tester,
forty-third session: every report answered 400 and every sign-up 500 between `migrate` and
the restart)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from alerts.models import AlertDelivery, ConfirmationDelivery
from detection.models import Outage
from reports.models import BlockWindow, CommentFlag

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
