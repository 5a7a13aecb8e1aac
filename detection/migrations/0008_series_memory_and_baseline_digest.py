# The detector's memory moves from a JSON record to bytes that name their layout, read and
# written in bulk by the tick; baselines get a digest so the tick can keep them between
# minutes (issue 13, item 4; bench/scale/README.md).

import hashlib
import json

from django.db import migrations, models

BATCH = 2000


def records_to_memory(apps, schema_editor):
    from detection.services.states import blob_of_record

    SeriesState = apps.get_model("detection", "SeriesState")
    rows = SeriesState.objects.only("id", "core_state").order_by("id")
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        row.memory = blob_of_record(row.core_state or None)
        batch.append(row)
        if len(batch) >= BATCH:
            SeriesState.objects.bulk_update(batch, ["memory"])
            batch = []
    SeriesState.objects.bulk_update(batch, ["memory"])


def memory_to_records(apps, schema_editor):
    from detection.services.states import record_of

    SeriesState = apps.get_model("detection", "SeriesState")
    for row in SeriesState.objects.only("id", "memory").iterator(chunk_size=BATCH):
        row.core_state = record_of(row.memory) if row.memory else {}
        row.save(update_fields=["core_state"])


def baseline_digests(apps, schema_editor):
    # Any value that changes with the params will do (the tick only compares it with what it
    # read before); this is detection.services.batches.params_digest as of this migration.
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    batch = []
    for row in SeriesBaseline.objects.only("id", "params").iterator(chunk_size=BATCH):
        text = json.dumps(row.params, sort_keys=True, separators=(",", ":"))
        row.digest = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
        batch.append(row)
        if len(batch) >= BATCH:
            SeriesBaseline.objects.bulk_update(batch, ["digest"])
            batch = []
    SeriesBaseline.objects.bulk_update(batch, ["digest"])


def states_fillfactor(apps, schema_editor):
    # Every tick rewrites every series' row: with room on its page the new version stays there
    # (a HOT update, no index entries), and the page's old versions are pruned in passing.
    if schema_editor.connection.vendor == "postgresql":
        table = apps.get_model("detection", "SeriesState")._meta.db_table
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = 50)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0007_series_core_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="seriesstate",
            name="memory",
            field=models.BinaryField(blank=True, default=b"", editable=False),
        ),
        migrations.RunPython(records_to_memory, memory_to_records),
        migrations.RemoveField(model_name="seriesstate", name="core_state"),
        migrations.AddField(
            model_name="seriesbaseline",
            name="digest",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.RunPython(baseline_digests, migrations.RunPython.noop),
        migrations.RunPython(states_fillfactor, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="seriesstate",
            index=models.Index(
                condition=models.Q(("state", 0), _negated=True),
                fields=["state"],
                name="series_state_busy",
            ),
        ),
    ]
