"""A stored baseline's profile lives only in its bytes: the JSON loses its copy.

The digest is a hash of the whole record either way, so it stays as it is and no worker's
cache sees a change. Rows without bytes (written around save()) get them first. Reversed,
the JSON gets its copy back.
"""

import numpy as np
from django.db import migrations

BATCH = 2000
# The bytes' layout (detection.baseline_record.PROFILE_DTYPE, restated: a migration must not
# change with the code).
PROFILE_DTYPE = ">f8"


def _rows(SeriesBaseline, **where):
    return SeriesBaseline.objects.filter(**where).only("id", "params", "profile")


def forward(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    table = schema_editor.quote_name(SeriesBaseline._meta.db_table)
    if schema_editor.connection.vendor == "postgresql":
        # In the database: 100k rows move in seconds, not the minutes of a round trip each.
        schema_editor.execute(
            f"UPDATE {table} b SET profile = (SELECT string_agg(float8send(e.value::float8),"
            " ''::bytea ORDER BY e.ord) FROM jsonb_array_elements_text(b.params -> 'profile')"
            " WITH ORDINALITY AS e(value, ord)) WHERE profile IS NULL AND params ? 'profile'"
        )
        schema_editor.execute(
            f"UPDATE {table} SET params = params - 'profile'"
            " WHERE profile IS NOT NULL AND params ? 'profile'"
        )
        return
    for row in _rows(SeriesBaseline).iterator(chunk_size=BATCH):
        if "profile" not in row.params:
            continue
        if row.profile is None:
            row.profile = np.asarray(row.params["profile"], dtype=PROFILE_DTYPE).tobytes()
        params = {k: v for k, v in row.params.items() if k != "profile"}
        SeriesBaseline.objects.filter(id=row.id).update(params=params, profile=row.profile)


def backward(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    rows = _rows(SeriesBaseline, profile__isnull=False)
    for row in rows.iterator(chunk_size=BATCH):
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
