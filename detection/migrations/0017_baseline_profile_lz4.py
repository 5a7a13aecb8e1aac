"""A baseline's profile compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4, as
Debian's and the official images are; skipped where it is not, as migration 0014 does for the
series states).

A profile is 672 float64 (5,376 bytes), over the size at which PostgreSQL compresses. A worker
that starts without a prime, or rebuilds its baselines, reads every profile: at 100k series
PostgreSQL spent 1.26 s decompressing them with pglz and 0.14 s with lz4, and sending them
took 3.1 s against 1.7 s (bench/scale/README.md). Profiles already stored keep pglz until they
are refitted, which the nightly refit does for every series. Other databases have no such
setting.
"""

from django.db import migrations

from detection.migrations import _compression as compression


def _column(apps, schema_editor) -> tuple[str, str] | None:
    """(table, column) of the profile, quoted; None on another database."""
    if schema_editor.connection.vendor != "postgresql":
        return None
    model = apps.get_model("detection", "SeriesBaseline")
    column = model._meta.get_field("profile").column
    return schema_editor.quote_name(model._meta.db_table), schema_editor.quote_name(column)


def forwards(apps, schema_editor) -> None:
    names = _column(apps, schema_editor)
    if names is not None:
        compression.lz4(schema_editor, *names)


def backwards(apps, schema_editor) -> None:
    names = _column(apps, schema_editor)
    if names is not None:
        compression.default(schema_editor, *names)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0016_baseline_profile_once"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
