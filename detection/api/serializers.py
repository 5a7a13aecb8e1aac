"""Serializers for the outage read API: query parameters in, status, series and outages out.

Output serializers read the dataclasses and models that detection.selectors returns; links
are absolute (SITE_URL) so cached bodies do not depend on the request's host.
"""

from __future__ import annotations

from typing import Any, cast

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from detection import presentation, selectors
from detection.core.phase import SHIFT_TOLERANCE_MINUTES, PhaseConfig
from detection.models import Outage, OutageEvent
from detection.official.selectors import (
    OfficialStatus,
    OutageOfficial,
    official_status,
    outage_official,
)
from detection.presentation import absolute
from outagewatch.api.query import QueryDateTimeField, QuerySerializer
from reports import validation
from reports.api.fields import (
    ChoiceField,
    RoundedFloatField,
    drf_validated,
    service_from_slug,
)
from reports.api.serializers import ProblemTypeSerializer
from reports.models import Service

# Why the detector's verdicts ("How we decided") may quote more than the chart's normal for the
# same minute (API tester F3): it allows for the day's timing and for the audience's level
# before calling it excess.
_JUDGED = (
    f"the most the series' baseline (the chart's `expected`) has within "
    f"{PhaseConfig().phase_tolerance_minutes} minutes of that time of day ("
    f"{SHIFT_TOLERANCE_MINUTES} while its daily timing is unsure), scaled by its recent level, "
    "so it is often a little above the chart's figure for that minute"
)


def _country(value: str) -> str:
    return drf_validated(validation.country_clean, value)


# --- Query parameters -------------------------------------------------------------------------


class SeriesQuerySerializer(QuerySerializer):
    window = ChoiceField(choices=list(selectors.WINDOWS), default="24h")
    resolution = ChoiceField(choices=list(selectors.RESOLUTIONS), required=False)
    country = serializers.CharField(required=False, default="")

    def validate_country(self, value: str) -> str:
        return _country(value) if value else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        window = attrs["window"]
        resolution = attrs.get("resolution") or selectors.DEFAULT_RESOLUTION[window]
        if selectors.WINDOWS[window] > selectors.MAX_WINDOW[resolution]:
            longest = max(
                (w for w, m in selectors.WINDOWS.items() if m <= selectors.MAX_WINDOW[resolution]),
                key=selectors.WINDOWS.__getitem__,
            )
            raise serializers.ValidationError(
                {"resolution": [f"Resolution {resolution} covers at most {longest}."]}
            )
        attrs["resolution"] = resolution
        return attrs


class OutageQuerySerializer(QuerySerializer):
    service = serializers.CharField(required=False)
    country = serializers.CharField(required=False, default="")
    status = ChoiceField(choices=Outage.Status.choices, required=False, default="")
    since = QueryDateTimeField(required=False, default=None)
    until = QueryDateTimeField(required=False, default=None)
    updated_since = QueryDateTimeField(required=False, default=None)

    def validate_service(self, value: str) -> Service:
        return service_from_slug(value)

    def validate_country(self, value: str) -> str:
        return _country(value) if value else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since >= until:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


# --- Status -----------------------------------------------------------------------------------


class ServiceStateSerializer(serializers.Serializer):
    """A service's status right now: its level, in words, and the figures behind it."""

    # Reads a detection.selectors.ServiceState.

    level = serializers.CharField(source="code", help_text="ok, possible or problems.")
    level_value = serializers.IntegerField(source="level", help_text="0, 1 or 2.")
    # `label`: a field named as Field's own attribute; the serializer's metaclass takes
    # declared fields out of the class body, so nothing is shadowed at run time.
    label = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text='"No problems", "Possible problems", "Problems detected" or "Reports falling".'
    )
    summary = serializers.SerializerMethodField(
        help_text="The status in plain words (times in UTC)."
    )
    reports_falling = serializers.SerializerMethodField(
        help_text="An open outage whose newest five closed minutes are back near normal: it "
        'may be over (the label then reads "Reports falling"). Both the counted reports and '
        "the distinct networks reporting must have fallen: counted reports alone settle far "
        "below an outage's first minute once each network's and provider block's allowance "
        "is spent, while as many people still report. The `summary` says the drop "
        'from its first such minute ("Reports have dropped in the last minutes; we are '
        'confirming whether it is over."), before this turns true: a single quiet minute is '
        "too little to call it falling."
    )
    since = serializers.SerializerMethodField(
        help_text="Onset of the current problems; in a relapse (the outage reopened), when "
        "they came back, as `summary` says."
    )
    observed = serializers.FloatField(help_text="Counted reports in the newest minute.")
    expected = RoundedFloatField(
        allow_null=True,
        help_text=(
            "The newest minute's normal: the series' baseline at that minute, as its chart "
            "draws it (`expected` of the series endpoint); the detector judged the minute "
            f"against {_JUDGED}."
        ),
    )
    cold_start = serializers.BooleanField(
        source="cold",
        help_text="The service has no history here yet: `expected` is the detector's guess for "
        "a new service, not a normal anyone observed (the pages say it is not known yet).",
    )
    score = RoundedFloatField(
        decimals=3,
        help_text=(
            "How surprising the newest minute is for this series, 0..1 (0.5: where its alarm"
            " budget lies). High only when reports reach a height the series has not reached"
            " in the last day; a minute that merely stays up scores low (level tells whether"
            " problems go on)."
        ),
    )
    rule = serializers.CharField(help_text="The detector rule behind the level.")
    countries = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_label(self, state: selectors.ServiceState) -> str:
        return presentation.status_label(state)

    def get_summary(self, state: selectors.ServiceState) -> str:
        return presentation.status_sentence(state)

    def get_reports_falling(self, state: selectors.ServiceState) -> bool:
        return state.falling

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_since(self, state: selectors.ServiceState) -> str | None:
        since = state.again_since or state.problems_since
        return serializers.DateTimeField().to_representation(since) if since else None


# --- Official status --------------------------------------------------------------------------


class OfficialIncidentSerializer(serializers.Serializer):
    """An incident as the provider published it on its status page."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField(
        help_text="The provider's word, lower case: investigating, identified, monitoring..."
    )
    url = serializers.CharField(help_text="The provider's page of the incident, or empty.")
    started_at = serializers.DateTimeField(help_text="When the provider says the impact began.")
    acknowledged_at = serializers.DateTimeField(help_text="When the provider first published it.")
    resolved_at = serializers.DateTimeField(allow_null=True)


class OfficialStatusSerializer(serializers.Serializer):
    """The provider's own status page, as we last read it."""

    # Reads a detection.official.selectors.OfficialStatus.

    indicator = serializers.CharField(
        help_text=(
            "none, minor, major, critical or maintenance, as of the last read; empty when the "
            "page has no overall indicator or was never read."
        )
    )
    # `label`: a field named as Field's own attribute; the serializer's metaclass takes
    # declared fields out of the class body, so nothing is shadowed at run time.
    label = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="The indicator in plain words."
    )
    summary = serializers.SerializerMethodField(
        help_text="What the page says, or that it could not be read, in plain words (UTC)."
    )
    description = serializers.CharField(help_text="The provider's own summary, if any.")
    page_url = serializers.CharField(help_text="The status page for people, or empty.")
    open_incidents = OfficialIncidentSerializer(many=True)
    last_read_at = serializers.DateTimeField(
        source="last_success_at", allow_null=True, help_text="The last successful read."
    )
    stale = serializers.BooleanField(
        help_text="No successful read for a while: do not take it as the current status."
    )
    readable = serializers.SerializerMethodField(
        help_text="False when the last reads failed (see summary)."
    )

    def get_label(self, status: OfficialStatus) -> str:
        return presentation.official_indicator(status.indicator)

    def get_summary(self, status: OfficialStatus) -> str:
        if not presentation.official_readable(status):
            return presentation.official_read_sentence(status)
        return presentation.official_status_sentence(status)

    def get_readable(self, status: OfficialStatus) -> bool:
        return status.failures == 0 and status.last_success_at is not None


# --- Outages ----------------------------------------------------------------------------------


class TopProblemSerializer(serializers.Serializer):
    problem = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class UpstreamMemberSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="Service slug.")
    service_name = serializers.CharField()
    outage_id = serializers.IntegerField()
    is_provider = serializers.BooleanField(help_text="The provider's own outage.")


class UpstreamSerializer(serializers.Serializer):
    """The upstream outage an outage is grouped in: several services on one provider."""

    id = serializers.IntegerField()
    provider = serializers.CharField(help_text="Provider slug.")
    provider_name = serializers.CharField()
    since = serializers.DateTimeField(source="started_at", help_text="The earliest onset.")
    resolved_at = serializers.DateTimeField(
        allow_null=True, help_text="When the last of its outages ended; null while going on."
    )
    summary = serializers.SerializerMethodField(help_text="In plain words.")
    services = UpstreamMemberSerializer(source="members", many=True)

    def get_summary(self, view: selectors.UpstreamView) -> str:
        return presentation.upstream_sentence(view)


class OutageSummarySerializer(serializers.Serializer):
    """An outage in brief: when, where, how large, and how sure the detector is."""

    # ``context["upstreams"]``: the upstream views of a page of outages, read at once.

    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    service_name = serializers.CharField(source="service.name")
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(
        allow_null=True,
        help_text="The end: the minute after the last with excess reports; null while open.",
    )
    countries = serializers.SerializerMethodField(
        help_text="Countries that stand out (ISO 3166-1 alpha-2), most reports first. Empty "
        "when no single country stands out: the outage is everywhere, and `?country=` "
        "lists it for every country."
    )
    top_problems = serializers.SerializerMethodField(
        help_text="The most reported problems among its counted reports (up to five, most "
        "first), with how many counted reports named each; a problem is listed only once "
        "those reports came from five distinct networks (sites), one more than one host can "
        "hold, and at least OUTAGE_MIN_NETWORKS."
    )
    peak_observed = serializers.FloatField(
        help_text="Counted reports in the outage's busiest minute, all countries (the chart's "
        "highest minute while it ran, from the minute it was detected)."
    )
    peak_expected = RoundedFloatField(
        help_text="The peak minute's normal: the series' baseline at that minute, as its chart "
        "draws it (on a cold start, the detector's guess for a new service)."
    )
    peak_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(
        help_text="When anything in it last changed (its counts every minute while open, its "
        "status and end once resolved): what `?updated_since=` filters on."
    )
    score = RoundedFloatField(
        decimals=3, help_text="The highest anomaly score of the outage, 0..1."
    )
    rule = serializers.CharField(
        help_text="The rule that opened the outage (its test and time window); `score` is the "
        "highest since, which a later minute may have reached under another rule."
    )
    total_reports = serializers.IntegerField(
        help_text="Counted reports from the onset to the end (while open: so far)."
    )
    networks = serializers.IntegerField(
        help_text="Distinct networks behind those reports: each IPv4 /24 and each IPv6 /48 once."
    )
    explanation = serializers.SerializerMethodField(help_text="What happened, in plain words.")
    url = serializers.SerializerMethodField(help_text="The outage page.")
    api_url = serializers.SerializerMethodField()
    upstream = serializers.SerializerMethodField(
        help_text="Probably part of an outage at a provider these services share; null if not."
    )

    @extend_schema_field(UpstreamSerializer(allow_null=True))
    def get_upstream(self, outage: Outage) -> dict[str, Any] | None:
        if outage.upstream_id is None:
            return None
        views = self.context.get("upstreams")
        if views is None:
            views = selectors.upstream_views(ids={outage.upstream_id})
        view = views.get(outage.upstream_id)
        return UpstreamSerializer(view).data if view is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_countries(self, outage: Outage) -> list[str]:
        return selectors.outage_countries(outage)

    @extend_schema_field(TopProblemSerializer(many=True))
    def get_top_problems(self, outage: Outage) -> list[dict[str, Any]]:
        return selectors.outage_problems(outage)

    def get_explanation(self, outage: Outage) -> str:
        # Read later than written: always with the date.
        problems = selectors.outage_problems(outage)
        return presentation.outage_summary(
            outage, problems, date=True, cold=selectors.outage_cold(outage)
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, outage: Outage) -> str:
        return absolute(reverse("detection:outage", kwargs={"pk": outage.pk}))

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, outage: Outage) -> str:
        return absolute(reverse("outage-detail", kwargs={"pk": outage.pk}))


class OutageEventSerializer(serializers.Serializer):
    """One entry of an outage's timeline: what changed, in words, with its figures."""

    # A presentation.TimelineEntry's words with its event's numbers.

    at = serializers.DateTimeField(
        source="entry.at", help_text="For the final end: the outage's resolved_at."
    )
    kind = serializers.ChoiceField(choices=OutageEvent.Kind.choices, source="event.kind")
    # `label`: a field named as Field's own attribute; the serializer's metaclass takes
    # declared fields out of the class body, so nothing is shadowed at run time.
    label = serializers.CharField(source="entry.label")  # type: ignore[assignment]
    text = serializers.CharField(source="entry.text", help_text="In plain words.")
    country = serializers.CharField(source="event.country")
    observed = serializers.FloatField(
        source="event.observed",
        allow_null=True,
        help_text="Reports a minute; null where the entry quotes no minute (a relapse, an end).",
    )
    expected = RoundedFloatField(
        source="event.expected", allow_null=True, help_text="Normal a minute; null as observed."
    )
    message = serializers.CharField(
        source="event.message", help_text="The detector's own note (technical)."
    )


class OutageLinksSerializer(serializers.Serializer):
    page = serializers.URLField()
    timeline = serializers.URLField(help_text="Every event, newest first, cursor-paginated.")
    service_page = serializers.URLField()
    service_api = serializers.URLField()
    series = serializers.URLField()
    feed = serializers.URLField()


class OutageDetailSerializer(OutageSummarySerializer):
    """An outage in full: its summary, timeline, how it was decided, and related incidents."""

    timeline = serializers.SerializerMethodField(
        help_text=(
            f"The newest events, oldest first: at most {selectors.TIMELINE_EVENTS} (a long "
            "outage has many; `timeline_earlier` says how many came before them, and "
            "`links.timeline` pages through them all)."
        )
    )
    timeline_earlier = serializers.SerializerMethodField(
        help_text="Events before the first of `timeline`, not listed; 0 when it lists them all."
    )
    decision = serializers.SerializerMethodField(
        help_text=(
            'How the detector decided, in plain words (the outage page\'s "How we decided"): '
            "what it compares, the rule and window that opened it, the score and what it "
            "means, and each region's evidence with how unlikely it was by chance."
        )
    )
    links = serializers.SerializerMethodField()
    official_incident = serializers.SerializerMethodField(
        help_text=(
            "The provider's incident that overlaps this outage (the first it acknowledged), "
            "or null; the track record's matching rules."
        )
    )
    official_lead = serializers.SerializerMethodField(
        help_text=("Who knew first, in plain words; empty when the service has no official source.")
    )

    @extend_schema_field(OfficialIncidentSerializer(allow_null=True))
    def get_official_incident(self, outage: Outage) -> dict[str, Any] | None:
        incident = self._official(outage).incident
        return OfficialIncidentSerializer(incident).data if incident is not None else None

    def get_official_lead(self, outage: Outage) -> str:
        return presentation.official_lead_sentence(self._official(outage))

    def _official(self, outage: Outage) -> OutageOfficial:
        # One read for both fields. (The cast: DRF's context is the dict passed in, typed as
        # a Mapping.)
        cache = cast(dict[str, Any], self.context).setdefault("official", {})
        if outage.pk not in cache:
            cache[outage.pk] = outage_official(outage=outage)
        return cache[outage.pk]

    def _timeline(self, outage: Outage) -> selectors.OutageTimeline:
        # One read for the timeline and the decision (the cast: as in _official).
        cache = cast(dict[str, Any], self.context).setdefault("timeline", {})
        if outage.pk not in cache:
            cache[outage.pk] = selectors.outage_timeline(outage=outage)
        return cache[outage.pk]

    def get_timeline_earlier(self, outage: Outage) -> int:
        return self._timeline(outage).earlier

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_decision(self, outage: Outage) -> list[str]:
        # The page's own arguments, or the API says slugs and "expected" where it says names
        # and "a new service" (tester, fortieth session).
        lines = presentation.decision_details(
            outage,
            self._timeline(outage).evidence,
            selectors.outage_problems(outage),
            cold=selectors.outage_cold(outage),
        )
        return [str(line) for line in lines]

    @extend_schema_field(OutageEventSerializer(many=True))
    def get_timeline(self, outage: Outage) -> list[dict[str, Any]]:
        events = self._timeline(outage).events
        pairs = [
            {"event": event, "entry": entry}
            for event, entry in zip(
                events,
                presentation.timeline(outage, events, cold=selectors.outage_cold(outage)),
                strict=True,
            )
        ]
        # many=True makes a ListSerializer, whose data is a list (the stubs say a dict).
        return cast(list[dict[str, Any]], OutageEventSerializer(pairs, many=True).data)

    @extend_schema_field(OutageLinksSerializer)
    def get_links(self, outage: Outage) -> dict[str, str]:
        slug = outage.service.slug
        return {
            "page": self.get_url(outage),
            "timeline": absolute(reverse("outage-timeline", kwargs={"pk": outage.pk})),
            "service_page": absolute(outage.service.get_absolute_url()),
            "service_api": absolute(reverse("service-detail", kwargs={"slug": slug})),
            "series": absolute(reverse("service-series", kwargs={"slug": slug})),
            "feed": absolute(reverse("detection:service-feed", kwargs={"slug": slug})),
        }


# --- Services ---------------------------------------------------------------------------------


class ReportCountsSerializer(serializers.Serializer):
    last_15m = serializers.IntegerField()
    last_1h = serializers.IntegerField()
    last_24h = serializers.IntegerField()


class ServiceLinksSerializer(serializers.Serializer):
    page = serializers.URLField()
    series = serializers.URLField()
    outages = serializers.URLField()
    feed = serializers.URLField()


class DetectionFreshnessSerializer(serializers.Serializer):
    """How current the statuses beside it are. Each minute is judged once it has closed;
    while detection is stopped, the statuses stay as they were last judged."""

    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="The newest minute judged (UTC): the statuses here are as of its end. Null "
        "before the first minute is judged.",
    )
    behind_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="Closed minutes not judged yet; 0 when up to date. Null before the first "
        "minute is judged.",
    )
    current = serializers.BooleanField(
        help_text="False when detection is more than HEALTH_MAX_LAG_MINUTES behind the clock "
        "(the detector or its schedule stopped) or has never run: newer reports are not "
        "judged yet, so an empty list or `ok` then does not mean no problems."
    )


class ServiceDetailSerializer(serializers.Serializer):
    """A service: its catalog entry, its status right now, and recent report counts."""

    # Reads the overview detection.selectors builds.

    # The catalog entry, as in the service list.
    slug = serializers.CharField(source="service.slug")
    name = serializers.CharField(source="service.name")
    category = serializers.CharField(source="service.category.slug")
    category_name = serializers.CharField(source="service.category.name")
    website = serializers.URLField(source="service.website")
    status_page = serializers.CharField(source="service.status_page")
    problems = ProblemTypeSerializer(source="service.problem_types", many=True)
    url = serializers.SerializerMethodField()
    # Its status.
    status = ServiceStateSerializer(source="state")
    active_outage = serializers.SerializerMethodField()
    reports = ReportCountsSerializer(
        help_text="Counted reports, all countries: one per network and service per dedup window "
        "(REPORT_DEDUP_WINDOW_MINUTES), as the detector counts them, in the minutes already "
        "counted (up to a minute behind)."
    )
    expected_now = RoundedFloatField(
        source="state.expected",
        allow_null=True,
        help_text="Reports expected in the current minute; null before the first detection.",
    )
    links = serializers.SerializerMethodField()
    official = serializers.SerializerMethodField(
        help_text="The provider's own status page beside the crowd; null when it has none."
    )
    detection = DetectionFreshnessSerializer(required=False, help_text="How current `status` is.")

    @extend_schema_field(OfficialStatusSerializer(allow_null=True))
    def get_official(self, overview: Any) -> dict[str, Any] | None:
        status = official_status(service=overview.service)
        return OfficialStatusSerializer(status).data if status is not None else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, overview: Any) -> str:
        return absolute(overview.service.get_absolute_url())

    @extend_schema_field(OutageSummarySerializer(allow_null=True))
    def get_active_outage(self, overview: Any) -> dict[str, Any] | None:
        outage = overview.state.outage
        if outage is None or not outage.is_active:
            return None
        return OutageSummarySerializer(outage).data

    @extend_schema_field(ServiceLinksSerializer)
    def get_links(self, overview: Any) -> dict[str, str]:
        slug = overview.service.slug
        return {
            "page": absolute(overview.service.get_absolute_url()),
            "series": absolute(reverse("service-series", kwargs={"slug": slug})),
            "outages": absolute(reverse("outage-list")) + f"?service={slug}",
            "feed": absolute(reverse("detection:service-feed", kwargs={"slug": slug})),
        }


class StatusEntrySerializer(ServiceStateSerializer):
    """A service with possible or detected problems now, and its active outage if any."""

    service = serializers.CharField(source="service.slug")
    service_name = serializers.CharField(source="service.name")
    url = serializers.SerializerMethodField()
    active_outage = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, state: selectors.ServiceState) -> str:
        return absolute(state.service.get_absolute_url())

    @extend_schema_field(OutageSummarySerializer(allow_null=True))
    def get_active_outage(self, state: selectors.ServiceState) -> dict[str, Any] | None:
        if state.outage is None or not state.outage.is_active:
            return None
        state.outage.cold_start = state.cold  # read with the state: no query of its own
        # The list's upstream groups, read once for every row (StatusView).
        return OutageSummarySerializer(state.outage, context=self.context).data


class StatusSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = StatusEntrySerializer(many=True)
    detection = DetectionFreshnessSerializer(
        required=False, help_text="How current the statuses in this answer are."
    )


# --- Series -----------------------------------------------------------------------------------


class SeriesPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="Start of the bucket (UTC).")
    minutes = serializers.IntegerField(help_text="Minutes covered; the newest may be filling.")
    complete = serializers.BooleanField()
    observed = serializers.IntegerField(help_text="Counted reports.")
    expected = RoundedFloatField(
        allow_null=True,
        help_text=(
            "What this time of the week normally brings (the series' baseline); null without "
            "one. The normal a status's `expected` and an outage's `peak_expected` quote; the "
            f"detector judges a minute against {_JUDGED}."
        ),
    )
    lower = RoundedFloatField(allow_null=True, help_text="Lower edge of the normal band.")
    upper = RoundedFloatField(allow_null=True, help_text="Upper edge of the normal band.")


class SeriesSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    country = serializers.CharField(help_text="Empty for all countries.")
    window = serializers.CharField()
    resolution = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    baseline = serializers.CharField(
        source="baseline_method", allow_null=True, help_text="hgb, mean or prior; null if none."
    )
    band_sigmas = serializers.FloatField()
    points = SeriesPointSerializer(many=True)
