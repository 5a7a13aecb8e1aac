# Subscriptions, alert deliveries and confirmation emails move from the detection app to
# this one with their rows: the tables detection 0001-0009 created are adopted as they are
# (state only), then renamed to this app's names. detection 0010 forgets them on its side.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED = ("subscription", "alertdelivery", "confirmationdelivery")

STATUS_CHOICES = [
    ("pending", "Pending"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
]


def content_types_move(apps, schema_editor, source="detection", target="alerts"):
    # Admin log entries and permissions point at content types: keep them pointing at the
    # same models. (On a fresh database there are none yet.)
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def content_types_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="alerts", target="detection")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("detection", "0009_series_evidence"),
        ("reports", "0003_network_evidence"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Subscription",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("email", models.EmailField(max_length=254)),
                        ("countries", models.JSONField(blank=True, default=list, help_text="Empty = all countries.")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("confirmation_sent_at", models.DateTimeField(blank=True, null=True)),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        ("unsubscribed_at", models.DateTimeField(blank=True, null=True)),
                        ("disabled_at", models.DateTimeField(blank=True, help_text="Set when delivery failed permanently.", null=True)),
                        ("disabled_reason", models.CharField(blank=True, max_length=300)),
                        ("service", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="subscriptions", to="reports.service")),
                    ],
                    options={
                        "db_table": "detection_subscription",
                        "indexes": [models.Index(fields=["service", "confirmed_at"], name="detection_s_service_285ad7_idx")],
                        "constraints": [models.UniqueConstraint(fields=("email", "service"), name="subscription_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="AlertDelivery",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("opened", "Outage detected"), ("resolved", "Outage resolved")], max_length=10)),
                        ("status", models.CharField(choices=STATUS_CHOICES, default="pending", max_length=10)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("outage", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="detection.outage")),
                        ("subscription", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="alerts.subscription")),
                    ],
                    options={
                        "db_table": "detection_alertdelivery",
                        "indexes": [
                            models.Index(fields=["status", "created_at"], name="detection_a_status_1c2512_idx"),
                            models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due"),
                        ],
                        "constraints": [models.UniqueConstraint(fields=("outage", "subscription", "kind"), name="alert_delivery_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="ConfirmationDelivery",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("countries", models.JSONField(blank=True, default=list, help_text="Countries requested.")),
                        ("address_key", models.CharField(help_text="Normalised for the rate limit.", max_length=254)),
                        ("status", models.CharField(choices=STATUS_CHOICES, default="pending", max_length=10)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("used_at", models.DateTimeField(blank=True, help_text="The link was followed, or revoked by unsubscribing.", null=True)),
                        ("subscription", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="confirmations", to="alerts.subscription")),
                    ],
                    options={
                        "db_table": "detection_confirmationdelivery",
                        "indexes": [
                            models.Index(fields=["status", "next_attempt_at"], name="confirmation_due"),
                            models.Index(fields=["address_key", "created_at"], name="confirmation_address"),
                            models.Index(fields=["subscription", "created_at"], name="confirmation_subscription"),
                        ],
                    },
                ),
            ],
        ),
        # Now rename for real: the tables, and the two indexes named after the old tables.
        migrations.AlterModelTable(name="subscription", table=None),
        migrations.AlterModelTable(name="alertdelivery", table=None),
        migrations.AlterModelTable(name="confirmationdelivery", table=None),
        migrations.RenameIndex(
            model_name="subscription",
            new_name="subscription_service_confirmed",
            old_name="detection_s_service_285ad7_idx",
        ),
        migrations.RenameIndex(
            model_name="alertdelivery",
            new_name="alert_delivery_status_created",
            old_name="detection_a_status_1c2512_idx",
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
