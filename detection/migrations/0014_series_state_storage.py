"""Series states stored for a table whose every row the tick rewrites each minute.

- Half of each page left free (fillfactor 50): the new version of a row stays on its page and,
  as no indexed column changes (the state column rarely does), PostgreSQL makes it a heap-only
  tuple: no index entries to write, the old version pruned when the page is next read.
- The detector's memory compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4,
  as Debian's and the official images are; skipped where it is not): a stored state is about
  2 kB, over the size at which PostgreSQL compresses, and pglz spent most of the write.

Writing 10k states: 0.39-0.52 s before, 0.14-0.22 s after (bench/scale/README.md). Rows
already stored keep their pages and compression until rewritten, which the next ticks do.
Other databases have no such settings.
"""

from django.db import migrations

from detection.migrations import _compression as compression

FILLFACTOR = 50


def _postgres_table(apps, schema_editor) -> str | None:
    """The states' table, quoted; None on another database (nothing to set)."""
    if schema_editor.connection.vendor != "postgresql":
        return None
    return schema_editor.quote_name(apps.get_model("detection", "SeriesState")._meta.db_table)


def forwards(apps, schema_editor) -> None:
    table = _postgres_table(apps, schema_editor)
    if table is None:
        return
    schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")
    compression.lz4(schema_editor, table, "memory")


def backwards(apps, schema_editor) -> None:
    table = _postgres_table(apps, schema_editor)
    if table is None:
        return
    schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    compression.default(schema_editor, table, "memory")


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0013_upstream_outages"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
