"""Buckets, baselines, detector state and outages (subscriptions and deliveries: alerts.models).

A *series* is one service overall (country = "") or one service in one country.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from detection.baseline_record import record_joined, record_split
from reports.models import Service

if TYPE_CHECKING:
    from detection.core import Baseline
    from detection.presentation.feed import FeedEntry

OVERALL = ""  # the country code of a service's overall series


# The per-series tables are found by service through their unique (service, country, ...)
# index, which starts with the service: an index of the service alone is one more to update
# on every write (the buckets and states are written every minute) and serves no query.
def _series_service() -> models.ForeignKey:
    return models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)


class BucketFields(models.Model):
    """Counts of one time bucket of one series, aggregated from Report rows."""

    service = _series_service()
    country = models.CharField(max_length=2, blank=True, help_text="Empty = all countries.")
    reports = models.PositiveIntegerField(default=0, help_text="All reports.")
    counted = models.PositiveIntegerField(
        default=0, help_text="Counted reports: one per reporter per dedup window."
    )
    reporters = models.PositiveIntegerField(
        default=0,
        help_text="Distinct reporters: sites (IPv4 /24, IPv6 /48), not people.",
    )
    problems = models.JSONField(default=dict, help_text="Counted reports per problem slug.")

    class Meta:
        abstract = True


class Bucket(BucketFields):
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "country", "minute"], name="bucket_series_minute_unique"
            )
        ]
        indexes = [models.Index(fields=["minute"])]

    def __str__(self) -> str:
        return (
            f"{self.service_id}/{self.country or '*'} {self.minute:%Y-%m-%d %H:%M} {self.counted}"
        )


class HourlyBucket(BucketFields):
    hour = models.DateTimeField(help_text="Start of the hour (UTC).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "country", "hour"], name="hourly_bucket_series_hour_unique"
            )
        ]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.country or '*'} {self.hour:%Y-%m-%d %H}h {self.counted}"


class JobCursor(models.Model):
    """How far a periodic job has got (a watermark), so it can catch up after downtime."""

    # Bucketing's: the first minute not aggregated yet. The tick's: the newest minute judged.
    BUCKETS = "buckets"
    TICK = "tick"
    # The worker's minute sweep of the outboxes (alerts.services.alerts_sweep): when it last
    # ran, so that a stopped worker shows in the health check before an email is due.
    ALERTS_SWEEP = "alerts-sweep"

    name = models.CharField(max_length=50, unique=True)
    position = models.DateTimeField()
    # Bucketing's: the newest report id below which its last run found nothing left to commit,
    # so the next finds reports committed since for minutes it had settled
    # (detection.services.buckets._ids_final; its "buckets-ids" row keeps the newest id read).
    last_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position:%Y-%m-%d %H:%M}"


class SiteFields(models.Model):
    """A site (reports.networks: an IPv4 /24, an IPv6 /48) that sent a counted report naming
    one key of a service, and when it last did: each relation of detection.services.sites
    keeps a key's latest few."""

    service = _series_service()
    site_key = models.CharField(max_length=64, help_text="Keyed hash of the site.")
    last_seen = models.DateTimeField()

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["last_seen"])]


class SeriesSite(SiteFields):
    """The sites of one (service, country): those that make the pair a series."""

    country = models.CharField(max_length=2)

    class Meta(SiteFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["service", "country", "site_key"], name="series_site_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.country} {self.site_key[:8]} {self.last_seen:%Y-%m-%d}"


class ProblemSite(SiteFields):
    """The sites of one problem of one service: a problem is in the service's 24-hour
    breakdown only from listing_sites() of them, more than one host can hold."""

    problem = models.ForeignKey(
        "reports.ProblemType", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta(SiteFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["service", "problem", "site_key"], name="problem_site_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.problem_id} {self.site_key[:8]} {self.last_seen:%Y-%m-%d}"


class SeriesBaseline(models.Model):
    """A fitted detection.core.Baseline for one series (Baseline.to_dict())."""

    service = _series_service()
    country = models.CharField(max_length=2, blank=True)
    # The record without its profile (detection.baseline_record: the profile is `profile`).
    params = models.JSONField()
    method = models.CharField(max_length=10)
    fitted_at = models.DateTimeField()
    # Tells the tick's per-process baseline cache (detection.services.batches) that the record
    # changed without reading it: a hash of the whole record, set on every save(). A write that
    # bypasses save() (bulk_create, update) must set it too; left empty, the tick reads the
    # row every minute, which is correct, only slow.
    digest = models.CharField(max_length=32, blank=True, default="", editable=False)
    # The profile as bytes (detection.baseline_record.PROFILE_DTYPE, big-endian float32; rows
    # written before hold float64 and are read as such): the tick's first minute in a new
    # worker reads every profile, and parsing them from JSON took 63 s at 100k series
    # (bench/scale/README.md). NULL only in a row written around save() whose params still
    # hold the profile; readers then parse it from there.
    profile = models.BinaryField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "country"], name="baseline_series_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.country or '*'} {self.method} @ {self.fitted_at:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        # params may be given as the whole record (Baseline.to_dict()): split it as stored.
        self.params, self.digest, self.profile = record_split(self.record())
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "params" in update_fields:
            kwargs["update_fields"] = {*update_fields, "digest", "profile"}
        super().save(*args, **kwargs)

    def record(self) -> dict[str, Any]:
        """The whole record (Baseline.to_dict()); a profile in params wins over the bytes."""
        return record_joined(self.params, None if "profile" in self.params else self.profile)

    def baseline(self) -> Baseline:
        # Imported here: the core brings scikit-learn, and every process loads the models.
        from detection.core import Baseline

        return Baseline.from_dict(self.record())


class Outage(models.Model):
    """A probable outage of one service: opened by the detector, explained, resolved."""

    # Not columns: set on the instances the selectors hand to pages, the API and the feeds.
    cold_start: bool  # the service had no history yet (presentation.cold_start)
    feed_entry: FeedEntry

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="outages")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(help_text="Onset: first minute of the excess.")
    detected_at = models.DateTimeField(help_text="When the detector opened it.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    countries = models.JSONField(default=list, help_text="Affected countries, most reports first.")
    top_problems = models.JSONField(default=list, help_text='[{"problem": slug, "count": n}]')
    peak_observed = models.FloatField(default=0)
    peak_expected = models.FloatField(default=0)
    peak_at = models.DateTimeField(null=True, blank=True)
    score = models.FloatField(default=0, help_text="Highest anomaly score, 0..1.")
    rule = models.CharField(max_length=40, blank=True, help_text="The rule that opened it.")
    total_reports = models.PositiveIntegerField(default=0)
    networks = models.PositiveIntegerField(
        default=0, help_text="Distinct networks with counted reports since the onset."
    )
    paused_minutes = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Minutes it was over between its runs (it ended, then came back within the "
        "reopen window): in its span, not in its duration.",
    )
    explanation = models.TextField(blank=True)
    # Whether its service had no history when it opened (its "expected" the prior's guess for a
    # new service): what its words say for good. Read from the service's baseline now, a past
    # outage gained a "normal" once the baseline was fitted, against the alerts sent about it
    # (cross-surface tester, forty-seventh session). Null: opened before this was recorded.
    judged_cold = models.BooleanField(null=True, blank=True)
    # What the counts above rest on that can no longer change: the sums of its buckets before
    # the aggregation's settled minute (detection.services.outage_tally), so each minute reads
    # only the minutes after it. Owned by that module; empty = count from the onset.
    tally = models.JSONField(
        default=dict, db_default=models.Value({}, output_field=models.JSONField()), blank=True
    )
    # Set when the outage started together with others of services on one provider
    # (detection.services.upstream).
    upstream = models.ForeignKey(
        "UpstreamOutage", null=True, blank=True, on_delete=models.SET_NULL, related_name="outages"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # When what its feed entry shows (title, summary, status) last changed: the Atom entry's
    # <updated>, and so the feeds' ETag and Last-Modified. updated_at moves on every tick of an
    # open outage, and a feed polled during one was never a 304 (regression tester, forty-eighth
    # session). entry_digest is that entry's fingerprint (detection.services.feed_entries).
    entry_updated_at = models.DateTimeField(default=timezone.now, db_default=Now())
    entry_digest = models.CharField(max_length=32, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["service", "status"]),
            models.Index(fields=["status", "started_at"]),
            # The outage lists, the API's pages and the feeds, newest first: without them
            # every list read and sorted the whole table (50k outages: 25-80 ms a request).
            models.Index(fields=["-started_at", "-id"], name="outage_newest"),
            models.Index(fields=["service", "-started_at", "-id"], name="outage_service_newest"),
        ]
        constraints = [
            # At most one active outage per service, enforced by the database.
            models.UniqueConstraint(
                fields=["service"],
                condition=models.Q(status="active"),
                name="outage_one_active_per_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} outage since {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class OutageNetwork(models.Model):
    """A network with counted reports in an outage, by its site (reports.networks: an IPv4
    /24, an IPv6 /48, as the outage gate counts them; held in reporter_key): its distinct
    networks are counted as these rows are added, minute by minute, instead of recounted over
    all its reports (detection.services.outage_tally). Kept while the outage can still reopen."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="+", db_index=False)
    reporter_key = models.CharField(max_length=64)
    # When the network's first counted report read for the outage came: a resolved outage
    # leaves out the networks first heard in its quiet minutes (null: added before this field,
    # counted in).
    first_seen = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["outage", "reporter_key"], name="outage_network_once")
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.reporter_key[:12]}"


class OutageProblemSite(models.Model):
    """A site (reports.networks) with counted reports of one problem in an outage: a problem
    is among its top problems only from listing_sites() of them, more than one host can hold
    (detection.services.outage_tally). Recorded only until the problem has that many: past
    them it stays listed, and the rows would only grow with a flood. Kept while the outage can
    still reopen, as OutageNetwork."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="+", db_index=False)
    problem = models.ForeignKey(
        "reports.ProblemType", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    site_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["outage", "problem", "site_key"], name="outage_problem_site_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.problem_id} {self.site_key[:12]}"


class UpstreamOutage(models.Model):
    """Outages of several services that probably share one cause: a provider they all depend
    on (detection.core.upstream decides; detection.services.upstream keeps these rows)."""

    provider = models.ForeignKey(
        "reports.Provider", on_delete=models.CASCADE, related_name="upstream_outages"
    )
    started_at = models.DateTimeField(help_text="The earliest onset among its outages.")
    detected_at = models.DateTimeField(help_text="When the outages were first grouped.")
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last of its outages ended."
    )
    # The provider's own outage, when the provider is in the catalog and the crowd saw it too.
    provider_outage = models.ForeignKey(
        Outage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chance = models.FloatField(
        help_text="How likely so many of its dependents break together by chance."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["resolved_at", "started_at"])]

    def __str__(self) -> str:
        return f"{self.provider} upstream outage since {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None


class OutageEvent(models.Model):
    """The outage's timeline."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Problems detected"
        COUNTRY = "country", "Country affected"
        PEAK = "peak", "New peak"
        REOPENED = "reopened", "Problems again"
        RESOLVED = "resolved", "Resolved"

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    country = models.CharField(max_length=2, blank=True)
    # Null where the entry has no minute of its own to quote (a relapse, an end): not zero
    # reports, which a reader would take it for.
    observed = models.FloatField(null=True, blank=True)
    expected = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)
    # A REOPENED event: the first minute of the relapse's excess (the reports that fired it),
    # which `at`, when it was detected, follows. A RESOLVED one: the end it declared (the
    # minute after the last with excess reports), which `at` follows by the quiet minutes.
    # One quoting a minute's counts (observed, expected): that minute, which `at` follows by
    # seconds, or by longer when the detector was catching up.
    since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.kind} {self.message}"


class SeriesState(models.Model):
    """The detector's memory for one series (detection.core.DetectorState) and latest verdict."""

    class Level(models.IntegerChoices):
        OK = 0, "No problems"
        POSSIBLE = 1, "Possible problems"
        PROBLEMS = 2, "Problems detected"

    service = _series_service()
    country = models.CharField(max_length=2, blank=True)
    minute = models.DateTimeField(help_text="The newest bucket judged.")
    # The detector's memory, one versioned record owned by the core (DetectorState): stored as
    # bytes that name their layout (detection.services.states), read and written in bulk by
    # the tick; a new field needs no migration here. Empty: never ticked.
    memory = models.BinaryField(default=b"", blank=True, editable=False)
    # Kept as a column because reads filter on it (series still busy stay ticked).
    state = models.SmallIntegerField(default=0, help_text="0 ok, 1 possible problems, 2 outage.")
    # Latest verdict with its explanation.
    level = models.SmallIntegerField(choices=Level.choices, default=Level.OK)
    observed = models.FloatField(default=0)
    expected = models.FloatField(default=0)
    score = models.FloatField(default=0)
    rule = models.CharField(max_length=40, blank=True)
    # The verdict reached "problems" on the model's floors and was held at "possible" by the
    # series' own calibrated threshold (ScoreResult.held): why it is only possible, in words.
    held = models.BooleanField(default=False, db_default=False)
    outage = models.ForeignKey(Outage, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "country"], name="series_state_unique")
        ]
        # The few series not at rest, which stay ticked however idle (series_active): found
        # without reading every series' row.
        indexes = [
            models.Index(fields=["state"], condition=~models.Q(state=0), name="series_state_busy")
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.country or '*'} state={self.state} level={self.level}"

    @property
    def core_state(self) -> dict:
        """The stored record as DetectorState.to_records writes it ({} if never ticked)."""
        from detection.services.states import record_of

        return record_of(self.memory) if self.memory else {}


class ServiceStatus(models.Model):
    """Each service's current status, one row per service, rewritten by every tick."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="status")
    level = models.SmallIntegerField(choices=SeriesState.Level.choices, default=0)
    since = models.DateTimeField(help_text="When the service entered this level.")
    observed = models.FloatField(default=0, help_text="Counted reports in the newest minute.")
    expected = models.FloatField(default=0, help_text="Expected reports in the newest minute.")
    score = models.FloatField(default=0)
    rule = models.CharField(max_length=40, blank=True)
    countries = models.JSONField(default=list, help_text="Countries at level >= 1.")
    outage = models.ForeignKey(Outage, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["level"])]
        verbose_name_plural = "service statuses"

    def __str__(self) -> str:
        return f"{self.service}: {self.get_level_display()}"


# Official status rows live in their own package; imported here so the detection app has them.
from detection.official.models import (  # noqa: E402, F401
    OfficialIncident,
    OfficialIncidentUpdate,
    ServiceStatusSource,
    StatusHost,
    StatusSource,
)
