"""Subscriptions and every message they cause: alert deliveries and confirmation emails.

These tables were created by the detection app (migrations detection 0001-0009) and moved
here with their rows (alerts 0001): the data is the same, only the owner changed.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from detection.models import Outage
from reports.models import Service


class Subscription(models.Model):
    """An email address following a service, optionally only some countries."""

    email = models.EmailField()
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="subscriptions")
    countries = models.JSONField(default=list, blank=True, help_text="Empty = all countries.")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when delivery failed permanently."
    )
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "service"], name="subscription_unique")
        ]
        indexes = [
            models.Index(fields=["service", "confirmed_at"], name="subscription_service_confirmed")
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.service}"


class AlertDelivery(models.Model):
    """One email for one outage, subscription and kind; the unique constraint makes it one."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Outage detected"
        RESOLVED = "resolved", "Outage resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper should try again (now, after a backoff, a cool-down or a grace
    # period). Null: waiting for an event, not a time (a reopened outage must end again;
    # alerts_schedule re-arms it). Work due later lives here, never in a broker countdown.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["outage", "subscription", "kind"],
                name="alert_delivery_unique",
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="alert_delivery_status_created"),
            models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.subscription_id} for outage {self.outage_id}: {self.status}"


class ConfirmationDelivery(models.Model):
    """One confirmation email of a sign-up request: an outbox row that the sweeper retries.

    The link in it names this row, so it is single use (``used_at``) and dies when the
    subscription is unsubscribed. ``address_key`` is the normalised mailbox the per-address
    cap counts (plus tags and Gmail dots removed); the email goes to the address as typed.
    """

    Status = AlertDelivery.Status

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="confirmations"
    )
    countries = models.JSONField(default=list, blank=True, help_text="Countries requested.")
    address_key = models.CharField(max_length=254, help_text="Normalised for the rate limit.")
    status = models.CharField(
        max_length=10, choices=AlertDelivery.Status.choices, default=AlertDelivery.Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(
        null=True, blank=True, help_text="The link was followed, or revoked by unsubscribing."
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="confirmation_due"),
            models.Index(fields=["address_key", "created_at"], name="confirmation_address"),
            models.Index(fields=["subscription", "created_at"], name="confirmation_subscription"),
        ]

    def __str__(self) -> str:
        return f"confirmation {self.pk} to {self.subscription_id}: {self.status}"
