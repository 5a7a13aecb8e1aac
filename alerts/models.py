"""Subscriptions and every message they cause: alert deliveries and confirmation emails.

These tables were created by the detection app (migrations detection 0001-0009) and moved
here with their rows (alerts 0001): the data is the same, only the owner changed.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone as dj_timezone

from detection.models import Outage
from reports.models import Service


class Subscription(models.Model):
    """A service followed through one channel, optionally only some countries.

    ``email`` is always the owner's confirmed address (double opt-in): the channel itself
    for email subscriptions, where management links and failure notices go for the others.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"
        DISCORD = "discord", "Discord"

    email = models.EmailField()
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    url = models.URLField(max_length=2000, blank=True, help_text="Where webhooks are posted.")
    # Signs webhook bodies (HMAC-SHA256); shown to the owner once, on the management page.
    secret = models.CharField(max_length=64, blank=True, editable=False)
    secret_shown_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The secret a rotation replaced, still signing beside the new one until
    # secret_previous_until (WEBHOOK_SECRET_OVERLAP_HOURS after it): a receiver not yet given
    # the new secret keeps verifying, where it refused every message for good (API tester F8).
    # Null, not "": none (never rotated with an overlap, cut over at once after a leak, the
    # overlap ended by the owner, or a row of a release whose INSERTs name no such column).
    secret_previous = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    secret_previous_until = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveSmallIntegerField(
        default=0, help_text="Permanent failures in a row; the channel is disabled at a limit."
    )
    countries = models.JSONField(default=list, blank=True, help_text="Empty = all countries.")
    # One more message per outage: when the provider's status page first acknowledges it.
    notify_acknowledged = models.BooleanField(
        default=False, help_text="Also tell when the official status page acknowledges it."
    )
    # Times in its messages are shown in this zone (the browser's at sign-up on the website).
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone, e.g. Europe/Berlin."
    )
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
            models.UniqueConstraint(
                fields=["email", "service", "channel", "url"], name="subscription_unique"
            )
        ]
        indexes = [
            models.Index(fields=["service", "confirmed_at"], name="subscription_service_confirmed")
        ]

    def __str__(self) -> str:
        if self.channel == self.Channel.EMAIL:
            return f"{self.email} → {self.service}"
        return f"{self.channel} of {self.email} → {self.service}"

    def secret_overlap_until(self, at: datetime) -> datetime | None:
        """Until when the secret the last rotation replaced still signs beside the new one,
        if it still does at `at`; None when only the current secret signs."""
        until = self.secret_previous_until
        return until if self.secret_previous and until and at < until else None


class AlertDelivery(models.Model):
    """One message for one outage event and subscription; the unique constraint makes it one.

    An outage's events are its opening (episode 0), each reopening within
    OUTAGE_REOPEN_MINUTES (episode 1, 2, ...) and the end of each episode: a subscriber of a
    flapping service gets "detected", "resolved", "problems again", "resolved" ... for one
    outage, each exactly once, all in one thread.
    """

    class Kind(models.TextChoices):
        OPENED = "opened", "Outage detected"
        REOPENED = "reopened", "Problems again"
        RESOLVED = "resolved", "Outage resolved"
        # The provider's status page published an incident overlapping the outage (once).
        ACKNOWLEDGED = "acknowledged", "Acknowledged by the provider"

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
    kind = models.CharField(max_length=20, choices=Kind.choices)
    episode = models.PositiveSmallIntegerField(
        default=0, help_text="0: the first opening; n: after the outage's n-th reopening."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper should try again (now, after a backoff or a cool-down). Null: waiting
    # for an event, not a time. Work due later lives here, never in a broker countdown.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    maybe_sent = models.BooleanField(
        default=False,
        db_default=False,
        help_text="An attempt may have reached the receiver though none was recorded as sent: "
        "its worker died while sending, or the receiver went silent once it had the message.",
    )
    # The email's Message-ID, stored before its first attempt: a resend carries it, and the
    # later emails of the outage's thread answer the "detected" one's as it was sent, not as
    # derived again from what may have changed since (SITE_URL, SECRET_KEY, the derivation
    # itself). Null, not "": none stored (not an email, not tried yet, or tried by a release
    # before 2026-12-07, whose INSERTs name no such column), and the alerts.emails
    # derivation stands in.
    message_id = models.CharField(  # noqa: DJ001
        max_length=998, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["outage", "subscription", "kind", "episode"],
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

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", "Confirmation link"
        DISABLED = "disabled", "Channel disabled"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="confirmations"
    )
    # The same outbox carries the owner's other email: the news that a channel was disabled.
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.CONFIRM)
    countries = models.JSONField(default=list, blank=True, help_text="Countries requested.")
    timezone = models.CharField(
        max_length=64, blank=True, help_text="Time zone requested; empty: keep the current one."
    )
    notify_acknowledged = models.BooleanField(
        default=False, help_text="Asked to be told when the provider acknowledges an outage."
    )
    address_key = models.CharField(max_length=254, help_text="Normalised for the rate limit.")
    # Over the mailbox's daily cap the link is not dropped but waits for the one email a day
    # that lists every such request of the mailbox (alerts.services.subscriptions).
    gathered = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Over the daily cap: goes in the mailbox's list email.",
    )
    status = models.CharField(
        max_length=10, choices=AlertDelivery.Status.choices, default=AlertDelivery.Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(
        null=True, blank=True, help_text="The link was followed, or revoked by unsubscribing."
    )
    # The Message-ID of the email that last carried it, stored before that email's first
    # attempt: a resend carries it whatever changed meanwhile (AlertDelivery.message_id).
    # Null: none stored (not tried yet, or tried by a release before 2026-12-07).
    message_id = models.CharField(  # noqa: DJ001
        max_length=998, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name_plural = "confirmation deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="confirmation_due"),
            models.Index(fields=["address_key", "created_at"], name="confirmation_address"),
            models.Index(fields=["subscription", "created_at"], name="confirmation_subscription"),
        ]

    def __str__(self) -> str:
        return f"confirmation {self.pk} to {self.subscription_id}: {self.status}"


class UpstreamDelivery(models.Model):
    """One message to a provider's follower that several services on the provider are down
    together (detection.models.UpstreamOutage), even when the crowd did not report the
    provider itself: once per (upstream outage, subscription), by the unique constraint.

    An outbox row like the others (alerts.services.outbox): its own table rather than an
    AlertDelivery without an outage, because everything AlertDelivery's rules read (episodes,
    threads, cool-downs, countries) is an outage's.
    """

    Status = AlertDelivery.Status

    upstream = models.ForeignKey(
        "detection.UpstreamOutage", on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="upstream_deliveries"
    )
    status = models.CharField(
        max_length=10, choices=AlertDelivery.Status.choices, default=AlertDelivery.Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The email's Message-ID, stored before its first attempt (AlertDelivery.message_id).
    message_id = models.CharField(  # noqa: DJ001
        max_length=998, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name_plural = "upstream deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["upstream", "subscription"], name="upstream_delivery_unique"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="upstream_delivery_due")]

    def __str__(self) -> str:
        return f"upstream {self.upstream_id} to {self.subscription_id}: {self.status}"
