from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexOnline(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, where the reports table is the largest and a
    plain CREATE INDEX would hold back every report until the index is built; a plain index
    elsewhere (SQLite has no concurrent build and no concurrent writers to spare)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._way(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._way(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def _way(self, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            return super()
        return super(AddIndexConcurrently, self)  # AddIndex's: a plain CREATE INDEX


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
