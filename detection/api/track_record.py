"""GET /api/v1/track-record/: the public track record (detection.official.track_record)."""

from __future__ import annotations

from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request

from detection import presentation
from detection.api.views import VersionedReadView
from detection.official.matching import Record
from detection.official.track_record import ServiceRecord, TrackRecord, track_record_cached
from detection.presentation import absolute
from outagewatch.api.schema import errors


class SpanRecordSerializer(serializers.Serializer):
    """The track record over one span of days: outages, official incidents, and matches."""

    # Serializes a (days, Record) pair.

    days = serializers.SerializerMethodField()
    outages = serializers.SerializerMethodField(help_text="Crowd outages that started in it.")
    official_incidents = serializers.SerializerMethodField(
        help_text="Official incidents (scheduled maintenance left out) that started in it."
    )
    matched_incidents = serializers.SerializerMethodField(
        help_text="Official incidents the crowd saw too (an overlapping outage)."
    )
    matched_outages = serializers.SerializerMethodField(
        help_text="Outages with a matching official incident: the lead times counted."
    )
    median_lead_minutes = serializers.SerializerMethodField(
        help_text=(
            "Median of the official acknowledgement minus OutageWatch's detection, in minutes:"
            " positive when the crowd knew first; null without a matched outage."
        )
    )
    p90_lead_minutes = serializers.SerializerMethodField(
        help_text="90th percentile of the same lead times (linear interpolation)."
    )
    unseen_incidents = serializers.SerializerMethodField(
        help_text="Official incidents the crowd never saw."
    )
    unacknowledged_outages = serializers.SerializerMethodField(
        help_text=(
            "Outages of services with an official status source that got no matching incident "
            "(counted once they are 6 hours old)."
        )
    )
    summary = serializers.SerializerMethodField(help_text="In plain words.")

    def get_days(self, item: tuple[int, Record]) -> int:
        return item[0]

    def get_outages(self, item: tuple[int, Record]) -> int:
        return item[1].outages

    def get_official_incidents(self, item: tuple[int, Record]) -> int:
        return item[1].incidents

    def get_matched_incidents(self, item: tuple[int, Record]) -> int:
        return item[1].matched_incidents

    def get_matched_outages(self, item: tuple[int, Record]) -> int:
        return len(item[1].leads)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_median_lead_minutes(self, item: tuple[int, Record]) -> float | None:
        return _minutes(item[1].median_lead)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_p90_lead_minutes(self, item: tuple[int, Record]) -> float | None:
        return _minutes(item[1].p90_lead)

    def get_unseen_incidents(self, item: tuple[int, Record]) -> int:
        return item[1].unseen_incidents

    def get_unacknowledged_outages(self, item: tuple[int, Record]) -> int:
        return item[1].unacknowledged_outages

    def get_summary(self, item: tuple[int, Record]) -> str:
        return presentation.track_record_summary(item[1], days=item[0])


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _spans(records: dict[int, Record]) -> list[dict[str, Any]]:
    # many=True makes a ListSerializer, whose data is a list (the stubs say a dict).
    return cast(list[dict[str, Any]], SpanRecordSerializer(sorted(records.items()), many=True).data)


class ServiceRecordSerializer(serializers.Serializer):
    service = serializers.CharField(source="slug")
    service_name = serializers.CharField(source="name")
    has_official_source = serializers.BooleanField(
        source="has_source", help_text="We read a machine-readable official status page."
    )
    url = serializers.SerializerMethodField(help_text="The service page.")
    spans = serializers.SerializerMethodField()

    def get_url(self, row: ServiceRecord) -> str:
        return absolute(reverse("reports:service", kwargs={"slug": row.slug}))

    @extend_schema_field(SpanRecordSerializer(many=True))
    def get_spans(self, row: ServiceRecord) -> list[dict[str, Any]]:
        return _spans(row.records)


class TrackRecordSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField(source="now")
    spans = serializers.ListField(child=serializers.IntegerField(), help_text="Days.")
    method = serializers.CharField(help_text="How outages and incidents are matched.")
    overall = serializers.SerializerMethodField(help_text="Every service together.")
    services = ServiceRecordSerializer(
        many=True, help_text="Services with an outage or an incident, the busiest first."
    )
    page = serializers.SerializerMethodField(help_text="The track-record page.")

    @extend_schema_field(SpanRecordSerializer(many=True))
    def get_overall(self, record: TrackRecord) -> list[dict[str, Any]]:
        return _spans(record.overall)

    def get_page(self, record: TrackRecord) -> str:
        return absolute(reverse("detection:track-record"))


@extend_schema_view(
    get=extend_schema(
        summary="The track record: the crowd against the official status pages",
        description=(
            "Per service and overall, over the last 30 and 90 days: outages detected, official "
            "incidents matched, the median and 90th percentile lead time against the official "
            "acknowledgement, official incidents the crowd never saw and outages the provider "
            "never acknowledged. `method` says how they are matched."
        ),
        responses={200: TrackRecordSerializer, **errors(400, 429, 503)},
    )
)
class TrackRecordView(VersionedReadView):
    serializer_class = TrackRecordSerializer

    def read(self, request: Request, **kwargs: Any) -> Any:
        return TrackRecordSerializer(track_record_cached()).data
