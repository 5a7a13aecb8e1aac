from django.db import migrations

# Vacuum the reports table after inserts of 1 % of its rows instead of PostgreSQL's 20 %. A
# vacuum marks the new pages all-visible, which is what lets the service page's regions
# (report_region_recent) be read from the index alone: 0.17x of the plain read where the
# pages are visible, 0.78x where they are not (bench/scale/README.md, "The service page's
# regions"). At 20 % a 10M-row table would wait 2M reports, a flood day's newest pages,
# the ones that panel reads. Such a vacuum visits only pages not yet all-visible.
INSERT_SCALE_FACTOR = 0.01


def _table(apps, schema_editor) -> str:
    return schema_editor.quote_name(apps.get_model("reports", "Report")._meta.db_table)


def vacuum_sooner(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {_table(apps, schema_editor)} "
            f"SET (autovacuum_vacuum_insert_scale_factor = {INSERT_SCALE_FACTOR})"
        )


def vacuum_as_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {_table(apps, schema_editor)} "
            "RESET (autovacuum_vacuum_insert_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_report_region_recent"),
    ]

    operations = [migrations.RunPython(vacuum_sooner, vacuum_as_default)]
