# Messages per outage event: "problems again" (kind reopened) and one "resolved" per
# episode of a reopened outage, so the delivery is unique per (outage, subscription, kind,
# episode). "Resolved" no longer waits out a grace period: rows held by it are due now.

from django.db import migrations, models
from django.utils import timezone


def resolved_due_now(apps, schema_editor):
    AlertDelivery = apps.get_model("alerts", "AlertDelivery")
    AlertDelivery.objects.filter(kind="resolved", status="pending").update(
        next_attempt_at=timezone.now()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0001_initial'),
        ('detection', '0010_alerts_moved_to_alerts_app'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='alertdelivery',
            name='alert_delivery_unique',
        ),
        migrations.AddField(
            model_name='alertdelivery',
            name='episode',
            field=models.PositiveSmallIntegerField(default=0, help_text="0: the first opening; n: after the outage's n-th reopening."),
        ),
        migrations.AlterField(
            model_name='alertdelivery',
            name='kind',
            field=models.CharField(choices=[('opened', 'Outage detected'), ('reopened', 'Problems again'), ('resolved', 'Outage resolved')], max_length=10),
        ),
        migrations.AddConstraint(
            model_name='alertdelivery',
            constraint=models.UniqueConstraint(fields=('outage', 'subscription', 'kind', 'episode'), name='alert_delivery_unique'),
        ),
        migrations.RunPython(resolved_due_now, migrations.RunPython.noop),
    ]
