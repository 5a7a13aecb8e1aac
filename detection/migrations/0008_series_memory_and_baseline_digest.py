# The detector's memory moves from a JSON record to bytes that name their layout, read and
# written in bulk by the tick; baselines get a digest so the tick can keep them between
# minutes (issue 13, item 4; bench/scale/README.md).

import hashlib
import json
import re
import struct

import numpy as np
from django.db import migrations, models

BATCH = 2000

# The stored state as detection.services.states and detection.core.state wrote and read it when
# this was written (state version 2), spelt out rather than imported, so that this migration
# does the same thing whatever later code says (the tick reads rows of an older layout through
# their record). Each DetectorState field in order: its numpy type, and a fresh series' value
# (ROW: a row of numbers per series, of the width below).
MAGIC = b"OWS1"
_LENGTH = struct.Struct("<H")
_ITEM = re.compile(r"^([a-z_][a-z0-9_]*)([<|>][a-z]\d+)(?:\*(\d+))?$")
STATE_VERSION = 2
ROW = object()
FIELDS = (
    ("state", "|i1", 0),
    ("hot_ticks", "<i4", 0),
    ("quiet_minutes", "<i4", 0),
    ("onset", "<i8", -1),
    ("last_hot", "<i8", -1),
    ("resolved_at", "<i8", -1),
    ("level_observed", "<f8", 0.0),
    ("level_expected", "<f8", 0.0),
    ("level_history", "<f8", ROW),
    ("phase", "|i1", 0),
    ("phase_minus", "<f8", 0.0),
    ("phase_plus", "<f8", 0.0),
    ("phase_basis", "<i8", -1),
    ("calibration", "<f8", ROW),
)
# A fresh series' row width: the calibration's (6 columns and 24 tail levels, zeros; a stored
# one of another width starts afresh), the level history's (none).
FRESH_WIDTH = {"level_history": 0, "calibration": 30}


def blob_of_record(record):
    """A record (DetectorState.to_records) as the stored value; {} or None: a fresh series."""
    items, parts = [], []
    for name, kind, fresh in FIELDS:
        value = record.get(name) if record else None
        if fresh is ROW:
            default = FRESH_WIDTH[name]
            if name == "calibration" and not (value and len(value) == default):
                value = None
            width = len(value) if value else default
            column = np.full(width, np.nan)
            if width == default:
                column[:] = 0.0
            if value:
                column[: len(value)] = [np.nan if v is None else v for v in value]
            items.append(f"{name}{kind}*{width}")
        else:
            column = np.full(1, fresh, dtype=kind)
            if value is not None:
                column[0] = value
            items.append(f"{name}{kind}")
        parts.append(column.astype(kind).tobytes())
    spec = ";".join([str(STATE_VERSION), *items]).encode()
    return MAGIC + _LENGTH.pack(len(spec)) + spec + b"".join(parts)


def record_of(blob):
    """The record a stored value holds (NaN in rows as None), whatever its layout."""
    blob = bytes(blob)
    if blob[: len(MAGIC)] != MAGIC:
        raise ValueError("not a stored detector state")
    (length,) = _LENGTH.unpack(blob[len(MAGIC) : len(MAGIC) + _LENGTH.size])
    header = blob[: len(MAGIC) + _LENGTH.size + length]
    spec = header[len(MAGIC) + _LENGTH.size :].decode().split(";")
    layout = []
    for item in spec[1:]:
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"bad state layout item {item!r}")
        name, kind, width = match.groups()
        layout.append((name, kind, None if width is None else int(width)))
    dtype = np.dtype([(n, k) if w is None else (n, k, (w,)) for n, k, w in layout])
    row = np.frombuffer(blob, dtype=dtype, offset=len(header), count=1)[0]
    record = {"version": int(spec[0])}
    for name, _, width in layout:
        value = row[name]
        if width is not None:
            record[name] = [None if v != v else v for v in value.tolist()]
        else:
            record[name] = value.item()
    return record


def records_to_memory(apps, schema_editor):
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
