"""Official status: the providers' own status pages, polled (docs/official-status.md).

A StatusSource is one machine-readable URL (a Statuspage summary.json, an incident.io or
status.io JSON document, an RSS/Atom feed); services link to it, several to one page when
they share it (WhatsApp and Instagram, GitHub and Copilot), each optionally narrowed to some
of the page's components. Registered in the detection app (detection/models.py imports them).
"""

from __future__ import annotations

from django.db import models

from reports.models import Service


class StatusSource(models.Model):
    class Kind(models.TextChoices):
        STATUSPAGE = "statuspage", "Atlassian Statuspage (summary.json)"
        INCIDENTIO = "incidentio", "incident.io status page (/proxy/<host> JSON)"
        STATUSIO = "statusio", "status.io public status API"
        FEED = "feed", "RSS or Atom incident feed"

    url = models.URLField(max_length=500, unique=True, help_text="The document polled.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    host = models.CharField(max_length=255, help_text="The URL's host: the rate limit's key.")
    page_url = models.URLField(max_length=500, blank=True, help_text="For people.")
    enabled = models.BooleanField(default=True)
    # Last good state: changed only by a payload that parsed completely.
    indicator = models.CharField(
        max_length=20, blank=True, help_text="none | minor | major | critical | maintenance"
    )
    description = models.CharField(max_length=300, blank=True)
    components = models.JSONField(default=dict, help_text="Component name -> its status.")
    # Conditional requests: what the server said last time it sent a good payload.
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Polling: the sweeper claims sources whose next_poll_at has come.
    next_poll_at = models.DateTimeField(db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed polls.")
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.url}"


class ServiceStatusSource(models.Model):
    """A catalog service's official source; ``components`` narrows a shared page."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="official_source"
    )
    source = models.ForeignKey(StatusSource, on_delete=models.CASCADE, related_name="links")
    components = models.JSONField(
        default=list,
        help_text="Names of the page's components that are this service; empty: all of it.",
    )

    def __str__(self) -> str:
        return f"{self.service_id} -> {self.source_id}"


class StatusHost(models.Model):
    """Requests per host and minute (a fixed window), claimed with conditional UPDATEs: many
    services on one status host (status.io's API, one provider's pages) must not hammer it."""

    host = models.CharField(max_length=255, unique=True)
    window_started_at = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.host}: {self.requests} since {self.window_started_at:%H:%M:%S}"


class OfficialIncident(models.Model):
    """An incident as the provider published it; its status changes are OfficialIncidentUpdate
    rows, the first of which is the acknowledgement."""

    source = models.ForeignKey(StatusSource, on_delete=models.CASCADE, related_name="incidents")
    external_id = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=40, help_text="The provider's word, lower case.")
    impact = models.CharField(max_length=40, blank=True)
    components = models.JSONField(default=list, help_text="Names of the components affected.")
    url = models.URLField(max_length=500, blank=True)
    started_at = models.DateTimeField(help_text="When the provider says the impact began.")
    acknowledged_at = models.DateTimeField(
        help_text="When the provider first published it (detection.official.services)."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(help_text="The provider's last update.")
    first_seen_at = models.DateTimeField(help_text="The poll that first saw it.")
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="official_incident_source_external_unique"
            )
        ]
        indexes = [models.Index(fields=["source", "started_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class OfficialIncidentUpdate(models.Model):
    """One status change of an incident as first seen (investigating -> resolved ...)."""

    incident = models.ForeignKey(OfficialIncident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=40)
    at = models.DateTimeField(help_text="The provider's time of the change.")
    body = models.TextField(blank=True, help_text="The provider's words, capped.")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "status", "at"], name="official_update_unique"
            )
        ]
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} @ {self.at:%Y-%m-%d %H:%M}"
