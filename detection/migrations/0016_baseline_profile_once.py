"""A stored baseline's profile lives only in its bytes: the JSON loses its copy.

Only rows that have the bytes lose it: a row written around save() without them keeps its
profile in the JSON, where the readers find it. The digest is a hash of the whole record
either way, so it stays as it is and no worker's cache sees a change. Reversed, the JSON gets
its copy back.
"""

import numpy as np
from django.db import migrations

BATCH = 2000
# The bytes' layout (detection.baseline_record.PROFILE_DTYPE, restated: a migration must not
# change with the code).
PROFILE_DTYPE = ">f8"


def _rows(SeriesBaseline):
    return SeriesBaseline.objects.filter(profile__isnull=False).only("id", "params", "profile")


def forward(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    if schema_editor.connection.vendor == "postgresql":
        # In the database: 100k rows move in seconds, not the minutes of a round trip each.
        table = schema_editor.quote_name(SeriesBaseline._meta.db_table)
        schema_editor.execute(
            f"UPDATE {table} SET params = params - 'profile'"
            " WHERE profile IS NOT NULL AND params ? 'profile'"
        )
        return
    for row in _rows(SeriesBaseline).iterator(chunk_size=BATCH):
        if "profile" in row.params:
            params = {k: v for k, v in row.params.items() if k != "profile"}
            SeriesBaseline.objects.filter(id=row.id).update(params=params)


def backward(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    for row in _rows(SeriesBaseline).iterator(chunk_size=BATCH):
        if "profile" not in row.params:
            profile = np.frombuffer(bytes(row.profile), PROFILE_DTYPE).astype(np.float64)
            params = {**row.params, "profile": profile.tolist()}
            SeriesBaseline.objects.filter(id=row.id).update(params=params)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0015_series_service_indexes"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=True),
    ]
