"""The service catalog and the problem reports people submit about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from reports.fields import NameField, OneLineField

if TYPE_CHECKING:
    from detection.selectors import ServiceState

# A comment flagged as abusive from this many blocks (IPv4 /16, IPv6 /32) leaves the pages
# before anyone looks. Five, not three: one host often reaches three or four (its IPv4, its
# own IPv6, a tunnel broker's range, a phone's mobile network), and with three it hid any
# comment it liked, ten an hour (red-team tester F2).
COMMENT_HIDE_AFTER_FLAGS = 5


class Category(models.Model):
    slug = models.SlugField(unique=True)
    name = NameField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProblemType(models.Model):
    slug = models.SlugField(unique=True)
    name = NameField(max_length=80)
    description = OneLineField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    # Not columns: set on the instances of the home page's listing (reports.selectors and
    # reports.views) for its template.
    search_terms: str
    search_website: str
    sparkline: list[int] | None
    level: str
    state: ServiceState | None

    slug = models.SlugField(unique=True)
    name = NameField(max_length=120)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    website = models.URLField()
    status_page = models.URLField(blank=True, help_text="The official status page, if any.")
    problem_types = models.ManyToManyField(ProblemType, related_name="services")
    # What the service runs on: outages of several dependents starting together are probably
    # the provider's (detection.core.upstream).
    providers: models.ManyToManyField[Provider, models.Model] = models.ManyToManyField(
        "Provider", blank=True, related_name="dependents"
    )
    is_active = models.BooleanField(default=True)
    # Since when reports of it are taken and it is judged: the quiet before its first report
    # is evidence of how rarely it is reported (detection.core.level.cold_seeded), so a
    # first-ever burst is judged rather than learnt as its normal. Services that existed
    # before this field take the time of its migration. The database default serves rows
    # inserted without the ORM (bench fills, older migrations' models).
    watched_since = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["is_active", "name"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("reports:service", kwargs={"slug": self.slug})


class FormerSlug(models.Model):
    """A slug a service had before the catalog renamed it (``renamed_from``, reports.catalog).

    The row is renamed in place, so its history follows; this keeps the old name answering:
    old addresses redirect to the new ones and reports naming it count for the service.
    """

    slug = models.SlugField(unique=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="former_slugs")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.slug} (service {self.service_id})"

    def clean(self) -> None:
        # A service's current slug answers for that service: as a former slug of another it
        # would contradict it (which one does /services/<slug>/ show?).
        if Service.objects.filter(slug=self.slug).exists():
            raise ValidationError({"slug": f"“{self.slug}” is a service's current slug."})


class Provider(models.Model):
    """A cloud, CDN, payment or login provider, or an owner's own network, that services of
    the catalog depend on. When it is in the catalog itself, `service` is its page there (its
    own outages and followers)."""

    class Kind(models.TextChoices):
        CLOUD = "cloud", "Cloud"
        CDN = "cdn", "CDN"
        DNS = "dns", "DNS"
        PAYMENTS = "payments", "Payments"
        LOGIN = "login", "Login"
        OWNER = "owner", "The owner's own network"

    slug = models.SlugField(unique=True)
    name = NameField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    service = models.OneToOneField(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="as_provider"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    class Source(models.TextChoices):
        WEB = "web", "Website"
        API = "api", "API"

    # No index of its own: the (service, created_at) index below serves lookups by service,
    # and every index is one more write on the ingest path.
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="reports", db_index=False
    )
    problem = models.ForeignKey(ProblemType, on_delete=models.PROTECT, related_name="reports")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    subdivision = models.CharField(max_length=6, blank=True, help_text="ISO 3166-2")
    comment = models.CharField(max_length=280, blank=True)
    source = models.CharField(max_length=3, choices=Source.choices)
    created_at = models.DateTimeField(db_index=True)
    # Keyed hashes (reports.networks) of the network the report came from (IPv4 /24, IPv6
    # /56) and of the block around it (/16, /32): the unit of evidence is a network, never a
    # header the client chooses, and the address itself is never stored.
    reporter_key = models.CharField(max_length=64, help_text="Keyed hash of the network.")
    block_key = models.CharField(max_length=64, blank=True, help_text="Keyed hash of the block.")
    # The site (IPv4 /24, IPv6 /48) is what the dedup window claims, and what the buckets count
    # as one reporter: one machine holding a tunnel broker's /48 sent from 25 of its /56s a
    # minute, each uncounted, and the status read "25 networks reported in the last minute"
    # (abuse tester F2). Empty on reports stored before it was kept: their network stands in.
    site_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text="Keyed hash of the site (IPv4 /24, IPv6 /48).",
    )
    counted = models.BooleanField(
        default=True,
        help_text="False for a repeat from the same network inside the dedup window, beyond "
        "its block's cap, or when the rate limit could not be checked.",
    )

    # Moderation of the comment (the report itself still counts): hidden by an admin
    # action, or left off the pages once networks of COMMENT_HIDE_AFTER_FLAGS blocks flagged it.
    # Database defaults: report_create inserts with raw SQL that names only its columns.
    comment_hidden = models.BooleanField(default=False, db_default=False)
    comment_flags = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="From how many blocks (IPv4 /16, IPv6 /32) networks reported the comment as "
        "abuse.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["service", "created_at"]),
            # The comments a page shows: newest counted reports that carry one.
            models.Index(
                fields=["service", "-created_at"],
                name="report_comment_recent",
                condition=Q(counted=True) & ~Q(comment=""),
            ),
            # The regions a service page counts over a day: only the reports that name one
            # (the field is optional), so an outage's flood without regions is not read.
            models.Index(
                fields=["service", "created_at", "country", "subdivision"],
                name="report_region_recent",
                condition=Q(counted=True) & ~Q(subdivision=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.problem} {self.country} @ {self.created_at:%Y-%m-%d %H:%M}"


class CommentFlag(models.Model):
    """One network's "report abuse" on one comment: a network flags a comment once."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="flags")
    reporter_key = models.CharField(max_length=64, help_text="Keyed hash of the network.")
    # The flags that hide a comment must come from as many blocks: one customer's IPv6 /48
    # holds 256 /56 networks, and hid any comment with three clicks.
    block_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text="Keyed hash of the network's block.",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "reporter_key"], name="comment_flag_once_per_network"
            )
        ]

    def __str__(self) -> str:
        return f"flag on report {self.report_id}"


class ReporterWindow(models.Model):
    """The dedup window a reporter's network holds for one service.

    Claimed with a conditional UPDATE (or the INSERT that the unique constraint
    lets only one process win), so two simultaneous reports from one person
    cannot both be counted.
    """

    reporter_key = models.CharField(max_length=64)
    # Unindexed on purpose (also in BlockWindow): these rows live minutes (purged once
    # expired), so deleting a service scans a small table, while an index would cost a write
    # on every report.
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    counted_until = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter_key", "service"], name="reporter_window_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reporter_key[:8]}… on {self.service_id} until {self.counted_until:%H:%M}"


class BlockWindow(models.Model):
    """How many counted reports one block (/16, /32) has added to a service this window.

    One operator renting many small networks in one provider's range must not add up to an
    outage: a block counts at most REPORT_BLOCK_MAX_COUNTED reports per service per
    REPORT_BLOCK_WINDOW_MINUTES (a sliding window, estimated from the block's own grid of
    windows and the count of the one before: reports.services._BLOCK_CLAIM). Claimed with
    conditional UPDATEs, like ReporterWindow.
    """

    block_key = models.CharField(max_length=64)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", db_index=False)
    window_until = models.DateTimeField(db_index=True)
    counted = models.PositiveIntegerField(default=0)
    earlier = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Counted in the block's window before this one, if it ended at its start.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["block_key", "service"], name="block_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.block_key[:8]}… on {self.service_id}: {self.counted}"


class UncheckedMinute(models.Model):
    """A minute in which reports were stored uncounted because their rate limit could not be
    checked (Redis away): its counted buckets hold less than was sent (reports.intake)."""

    minute = models.DateTimeField(primary_key=True)

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} (reports stored unchecked)"
