# The alert models now belong to the alerts app (alerts 0001 adopted their tables and
# rows): forget them here without touching the database.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0009_series_evidence"),
        ("alerts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="AlertDelivery"),
                migrations.DeleteModel(name="ConfirmationDelivery"),
                migrations.DeleteModel(name="Subscription"),
            ],
        ),
    ]
