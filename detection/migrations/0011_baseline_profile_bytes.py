# SeriesBaseline.profile: each profile also as big-endian float64 bytes, filled for the rows
# already stored (the reader falls back to the JSON for any row left without them).

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor) -> None:
    SeriesBaseline = apps.get_model("detection", "SeriesBaseline")
    table = schema_editor.quote_name(SeriesBaseline._meta.db_table)
    if schema_editor.connection.vendor == "postgresql":
        # float8send writes exactly the bytes the reader expects, without the rows leaving
        # the database.
        schema_editor.execute(
            f"UPDATE {table} b SET profile = (SELECT string_agg(float8send(e.value::float8),"
            " ''::bytea ORDER BY e.ord) FROM jsonb_array_elements_text(b.params -> 'profile')"
            " WITH ORDINALITY AS e(value, ord)) WHERE profile IS NULL"
        )
        return
    import numpy as np

    rows = SeriesBaseline.objects.filter(profile__isnull=True).only("id", "params")
    for row in rows.iterator(chunk_size=BATCH):
        data = np.asarray(row.params["profile"], dtype=">f8").tobytes()
        SeriesBaseline.objects.filter(id=row.id).update(profile=data)


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0010_alerts_moved_to_alerts_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="seriesbaseline",
            name="profile",
            field=models.BinaryField(editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
