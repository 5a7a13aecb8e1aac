# The detector's per-series memory becomes one versioned record (issue 12, item 4).

import math
import struct

from django.db import migrations, models

SCALARS = (
    "state",
    "hot_ticks",
    "quiet_minutes",
    "onset",
    "last_hot",
    "resolved_at",
    "level_observed",
    "level_expected",
    "phase",
    "phase_minus",
    "phase_plus",
    "phase_basis",
)
REMOVED = (*SCALARS[1:], "level_history", "calibration")


def _floats(blob) -> list:
    data = bytes(blob or b"")
    values = struct.unpack(f"<{len(data) // 8}d", data[: len(data) // 8 * 8])
    return [None if math.isnan(v) else v for v in values]


def columns_to_record(apps, schema_editor):
    SeriesState = apps.get_model("detection", "SeriesState")
    for row in SeriesState.objects.all().iterator():
        record = {"version": 1, **{name: getattr(row, name) for name in SCALARS}}
        record["level_history"] = _floats(row.level_history)
        # The calibration layout changed before any release; a series starts it afresh.
        row.core_state = record
        row.save(update_fields=["core_state"])


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0006_series_calibration"),
    ]

    operations = [
        migrations.AddField(
            model_name="seriesstate",
            name="core_state",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(columns_to_record, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="seriesstate",
            name="state",
            field=models.SmallIntegerField(
                default=0, help_text="0 ok, 1 possible problems, 2 outage."
            ),
        ),
        *[migrations.RemoveField(model_name="seriesstate", name=name) for name in REMOVED],
    ]
