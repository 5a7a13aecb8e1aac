"""Load the service catalog so a fresh install has services to report on."""

from django.db import migrations


def catalog_load(apps, schema_editor):
    from reports.catalog import catalog_read, catalog_sync

    catalog_sync(data=catalog_read(), apps=apps)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(catalog_load, migrations.RunPython.noop)]
