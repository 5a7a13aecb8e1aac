"""The rows of a fan-out, written inside the detector's transaction (alerts_notify): one
AlertDelivery per concerned subscription, as fast as the database allows, since the tick
and the service's lock wait for it."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from alerts.models import AlertDelivery

# Rows a bulk_create builds at once where the one-statement insert is not available: bounds
# the memory the fan-out takes in the tick (50,000 models at once: 57 MB).
_CREATE_BATCH = 2000


def deliveries_insert(*, row: AlertDelivery, subscription_ids: list[int]) -> None:
    """Insert `row` once for each subscription, those already there left as they are (the
    unique constraint). On PostgreSQL one INSERT ... SELECT FROM unnest(ids): a giant
    service's 50,000 rows took 4.5 s through bulk_create's models, inside the tick and its
    service lock, and 0.6 s in one statement (bench/alerts/README.md). Every other column
    gets the value `row` has (its defaults), as bulk_create would give it."""
    row.created_at = timezone.now()  # auto_now_add: the insert's time, as bulk_create sets it
    if connection.vendor != "postgresql":
        for start in range(0, len(subscription_ids), _CREATE_BATCH):
            AlertDelivery.objects.bulk_create(
                [
                    _copy(row, subscription_id=pk)
                    for pk in subscription_ids[start : start + _CREATE_BATCH]
                ],
                ignore_conflicts=True,
            )
        return
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in AlertDelivery._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(str(field.column)))
        if field.attname == "subscription_id":
            values.append("id")
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(getattr(row, field.attname), connection))
    sql = (
        f"INSERT INTO {quote(AlertDelivery._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM unnest(%s::bigint[]) AS id ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, subscription_ids])


def _copy(row: AlertDelivery, **changes: object) -> AlertDelivery:
    """A new unsaved row with `row`'s values and `changes`."""
    values = {f.attname: getattr(row, f.attname) for f in AlertDelivery._meta.concrete_fields}
    values.pop("id")
    return AlertDelivery(**{**values, **changes})
