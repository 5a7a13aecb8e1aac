"""The per-series tables lose the index of their service alone.

Each is found by service through its unique (service, country[, minute | hour]) index, which
starts with the service, so that index serves every query and the ON DELETE CASCADE of a
service; the one-column index only cost a write on every bucket, rollup and state written.
Only the index is dropped: Django's own AlterField would also drop and re-add the foreign
key, which checks every row of the largest tables again.
"""

from django.db import migrations, models
from django.db.models import Index

MODELS = ("bucket", "hourlybucket", "seriesbaseline", "seriesevidence", "seriesstate")


def _drop(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("detection", name)
        column = model._meta.get_field("service").column
        for index in schema_editor._constraint_names(
            model, [column], index=True, type_=Index.suffix
        ):
            schema_editor.execute(schema_editor._delete_index_sql(model, index))


def _create(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("detection", name)
        field = model._meta.get_field("service")
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


def _service() -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False,
        on_delete=models.deletion.CASCADE,
        related_name="+",
        to="reports.service",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0014_series_state_storage"),
        ("reports", "0006_fewer_ingest_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name=name, name="service", field=_service())
                for name in MODELS
            ],
            database_operations=[migrations.RunPython(_drop, _create)],
        )
    ]
