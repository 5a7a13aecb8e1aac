from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexOnline(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, where the reports table is the largest and a
    plain CREATE INDEX would hold back every report until the index is built; a plain index
    elsewhere (SQLite has no concurrent build and no concurrent writers to spare)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index)


class Migration(migrations.Migration):
    # A concurrent build cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("reports", "0006_fewer_ingest_indexes"),
    ]

    operations = [
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                condition=models.Q(("counted", True), models.Q(("subdivision", ""), _negated=True)),
                fields=["service", "created_at", "country", "subdivision"],
                name="report_region_recent",
            ),
        ),
    ]
