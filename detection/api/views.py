"""The outage read API: service status, series, outages and the status board.

Every view here is a versioned read: its answer is cached in Redis under the detection data
version (the next detection tick invalidates everything at once) and carries an ETag that
is a hash of the body, so a client polling an unchanged answer gets 304 without the
database being touched, and no counter reset can make an old ETag match new data.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import OrderedDict
from datetime import UTC
from typing import Any, ClassVar

from django.core.cache import cache
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from redis.exceptions import RedisError
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from detection import live, presentation, selectors
from detection.api import examples
from detection.api.serializers import (
    DetectionFreshnessSerializer,
    OutageDetailSerializer,
    OutageEventSerializer,
    OutageQuerySerializer,
    OutageSummarySerializer,
    SeriesQuerySerializer,
    SeriesSerializer,
    ServiceDetailSerializer,
    StatusSerializer,
)
from detection.cache import computing, data_version
from detection.models import Outage, OutageEvent
from outagewatch.api.conditional import (
    ConditionalRead,
    conditional_response,
    content_etag,
    tagged,
)
from outagewatch.api.pagination import NewestFirstCursorPagination
from outagewatch.api.query import KnownQueryParameters
from outagewatch.api.schema import READ_ERRORS, errors
from reports import selectors as catalog
from reports.models import Service

# Bounds staleness of cached bodies if ticks stop ("last 15 minutes" moves with the clock).
CACHE_SECONDS = 120

# What the query serializers accept at most; the lookups behind them say which values exist.
COUNTRY_PATTERN = "^[A-Za-z]{2}$"
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"
# The outage list's watermark (selectors.outages_updated_until): where a poller resumes.
UPDATED_UNTIL = "X-Updated-Until"


class _LocalAnswers:
    """The last answers this process served, by their cache key (which holds the data
    version, so the next tick makes them unreachable like the Redis copies): a hit costs no
    Redis round trip and no unpickling. Bounded in number, in the JSON length of what it
    holds and, like Redis, in age.

    Bounded in number alone, 256 of the largest reads held about 360 MB in each web process,
    for good (soak tester, forty-sixth session): a decoded answer takes several times its
    JSON length. Expired answers are dropped as new ones come in, not only passed over.
    """

    def __init__(self, size: int = 256, max_length: int = 4_000_000) -> None:
        self.size = size
        self.max_length = max_length  # about 30 MB of decoded answers
        self._items: OrderedDict[str, tuple[float, Any, int]] = OrderedDict()
        self._length = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, value: Any, length: int) -> None:
        if length > self.max_length // 8:
            return  # one answer must not push out most of the others
        now = time.monotonic()
        with self._lock:
            self._drop(key)
            self._items[key] = (now + CACHE_SECONDS, value, length)
            self._length += length
            for old in [k for k, item in self._items.items() if item[0] < now]:
                self._drop(old)
            while len(self._items) > self.size or self._length > self.max_length:
                self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._length -= item[2]


_answers = _LocalAnswers()


class VersionedReadView(KnownQueryParameters, ConditionalRead, generics.GenericAPIView):
    throttle_scope = "reads"
    # An answer that states verdicts ("no problems") says how current they are. Read on each
    # request, outside the cached answer: a stopped detector brings no next version, so the
    # cached answer would say "up to date" for as long as it is stopped.
    tells_freshness = False

    def read(self, request: Request, **kwargs: Any) -> Any:
        """The response body (plain JSON-able data); raise API errors as usual."""
        raise NotImplementedError

    def answer(self, request: Request, **kwargs: Any) -> tuple[Any, dict[str, str]]:
        """The body and headers that describe it, cached with it (outside its ETag)."""
        return self.read(request, **kwargs), {}

    def get(self, request: Request, **kwargs: Any) -> Response:
        version = data_version()
        key = f"detection:api:{version}:{self._request_key(request)}" if version else None
        cached = _answers.get(key) if key else None
        if cached is None:
            cached = self._computed(request, key, **kwargs)
        body, etag, headers = cached
        if self.tells_freshness:
            body, etag = _with_freshness(body, etag)
        # Only reached for a resource that exists, so If-None-Match: * never hides a 404.
        return conditional_response(request, body, etag, headers)

    def _computed(
        self, request: Request, key: str | None, **kwargs: Any
    ) -> tuple[Any, str, dict[str, str]]:
        """The answer from Redis (another process computed it) or computed and cached; one
        thread per process at a time for one key.

        Each tick makes every cached answer stale at once: without the lock, every request
        in flight for a popular read computed the same answer (all 64 connections of a
        dashboard poll hitting the database and serialising at once). The threads that
        waited find it in the process's own answers: no Redis round trip, no unpickling.
        """
        if not key:
            body, headers = self.answer(request, **kwargs)
            return body, content_etag(body), headers
        with computing(key):
            cached = _answers.get(key)
            if cached is not None:
                return cached
            stored = self._cache_get(key)
            if not (isinstance(stored, tuple) and len(stored) == 4):  # none, or a release's before
                # Errors (404, 400) are raised: not cached, not tagged.
                body, headers = self.answer(request, **kwargs)
                stored = (body, *tagged(body), headers)
                self._cache_set(key, stored)
            body, etag, length, headers = stored
            _answers.put(key, (body, etag, headers), length)
        return body, etag, headers

    def _request_key(self, request: Request) -> str:
        # Neither scheme nor host: every link in a body, next/previous too, is under SITE_URL,
        # so one answer serves every name the site is reached by. Every parameter is one the
        # read uses (KnownQueryParameters): one it ignored (?z=1, ?z=2, ...) made an entry of
        # its own each time, and one client could park tens of megabytes in the Redis that is
        # also the broker (soak tester).
        query = sorted(request.query_params.lists())
        seed = f"{request.path}|{query}"
        return hashlib.sha256(seed.encode()).hexdigest()[:32]

    @staticmethod
    def _cache_get(key: str) -> Any:
        try:
            return cache.get(key)
        except RedisError:
            return None

    @staticmethod
    def _cache_set(key: str, body: Any) -> None:
        # Without the cache the answer is still correct, just not cached.
        with contextlib.suppress(RedisError):
            cache.set(key, body, CACHE_SECONDS)


def _with_freshness(body: dict[str, Any], etag: str) -> tuple[dict[str, Any], str]:
    """The answer with its `detection` figures, and an ETag that changes with them (a client
    holding the answer from before the stop must not be told 304 once it goes stale)."""
    fresh = selectors.detection_freshness(judged=live.minute_judged(), now=timezone.now())
    figures = DetectionFreshnessSerializer(fresh).data
    return {**body, "detection": figures}, content_etag([etag, figures])


def _service(slug: str) -> Service:
    try:
        return catalog.service_get(slug=slug)
    except Service.DoesNotExist:
        raise Http404 from None


@extend_schema_view(
    get=extend_schema(
        summary="One service and its status now",
        description=(
            "The catalog entry plus the current status (`ok`, `possible`, `problems`), the "
            "active outage if any, counted reports in the last 15 minutes, hour and 24 hours "
            "(all countries) and the reports expected in the current minute."
        ),
        responses={200: ServiceDetailSerializer, **READ_ERRORS},
        examples=[examples.SERVICE_DETAIL],
    )
)
class ServiceDetailView(VersionedReadView):
    serializer_class = ServiceDetailSerializer
    tells_freshness = True

    def read(self, request: Request, **kwargs: Any) -> Any:
        overview = selectors.service_overview(service=_service(kwargs["slug"]))
        return ServiceDetailSerializer(overview).data


@extend_schema_view(
    get=extend_schema(
        summary="Reports over time against the expected band",
        description=(
            "Counted reports per bucket (`observed`, missing buckets are 0) with the "
            "baseline's `expected` count and a normal band (`lower`..`upper`, mean ± 2 "
            "standard deviations of a negative binomial). `expected` and the band are null "
            "when the series has no baseline yet. Resolution 1m covers at most 24h, 15m at "
            "most 7d. The newest bucket may still be filling (`complete: false`)."
        ),
        parameters=[
            OpenApiParameter("window", OpenApiTypes.STR, enum=list(selectors.WINDOWS)),
            OpenApiParameter(
                "resolution",
                OpenApiTypes.STR,
                enum=list(selectors.RESOLUTIONS),
                description="Default: 1m up to 6h, 15m for 24h, 1h beyond.",
            ),
            OpenApiParameter(
                "country",
                OpenApiTypes.STR,
                pattern=COUNTRY_PATTERN,
                description="ISO 3166-1 alpha-2; all if omitted.",
            ),
        ],
        responses={200: SeriesSerializer, **READ_ERRORS},
        examples=[examples.SERIES],
    )
)
class SeriesView(VersionedReadView):
    serializer_class = SeriesSerializer
    query_serializer_class = SeriesQuerySerializer

    def read(self, request: Request, **kwargs: Any) -> Any:
        service = _service(kwargs["slug"])
        query = self.query_serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        series = selectors.series_window(service=service, **query.validated_data)
        return SeriesSerializer(series).data


class OutageCursorPagination(NewestFirstCursorPagination):
    ordering = ("-started_at", "-id")


@extend_schema_view(
    get=extend_schema(
        summary="Outages, newest first",
        description=(
            "Cursor-paginated (follow `next`). `since`/`until` keep outages that overlap "
            "that period; an active outage overlaps every period after its start."
        ),
        parameters=[
            OpenApiParameter(
                "service", OpenApiTypes.STR, pattern=SLUG_PATTERN, description="Service slug."
            ),
            OpenApiParameter(
                "country",
                OpenApiTypes.STR,
                pattern=COUNTRY_PATTERN,
                description=(
                    "Outages that affect this country (ISO 3166-1 alpha-2): those whose "
                    "`countries` name it, and those with `countries: []` (no single country "
                    "stands out: the outage is everywhere)."
                ),
            ),
            OpenApiParameter("status", OpenApiTypes.STR, enum=["active", "resolved"]),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description=(
                    "ISO 8601 (UTC if no offset is given). Keeps outages that overlap the "
                    "period from `since`: still going at `since` or started later."
                ),
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description=(
                    "ISO 8601 (UTC if no offset is given), exclusive: keeps outages that "
                    "overlap the period before `until`, i.e. started before it."
                ),
            ),
            OpenApiParameter(
                "updated_since",
                OpenApiTypes.DATETIME,
                description=(
                    "ISO 8601 (UTC if no offset is given): keeps outages whose `updated_at` is "
                    "at or after it, for a poller that asks what changed since its last poll "
                    "(an open outage changes every minute; one resolved, once more). Pass the "
                    "previous answer's `X-Updated-Until`, not the time of the poll: a change "
                    "stamped before the detector's transaction commits is missed for good by "
                    "the latter. Keep each outage's latest by `id` and `updated_at`: one may "
                    "come again unchanged."
                ),
            ),
        ],
        responses={200: OutageSummarySerializer(many=True), **READ_ERRORS},
        examples=[examples.OUTAGE_LIST],
    )
)
class OutageListView(VersionedReadView):
    serializer_class = OutageSummarySerializer
    pagination_class = OutageCursorPagination
    paginated = True
    queryset = Outage.objects.none()  # for the schema; read() asks the selector
    query_serializer_class = OutageQuerySerializer

    response_headers: ClassVar[dict[str, dict[str, Any]]] = {
        UPDATED_UNTIL: {
            "schema": {"type": "string", "format": "date-time"},
            "description": (
                "Pass it as `updated_since` on the next poll (the smallest of a walk's pages): "
                "every change stamped before it is in this answer. Never after the time of "
                "the read: behind it by the age of the oldest transaction still open on the "
                "database, and a margin."
            ),
        }
    }

    def answer(self, request: Request, **kwargs: Any) -> tuple[Any, dict[str, str]]:
        until = selectors.outages_updated_until()  # before the read: what it will see
        stamp = until.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return self.read(request, **kwargs), {UPDATED_UNTIL: stamp}

    def read(self, request: Request, **kwargs: Any) -> Any:
        query = self.query_serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        outages = selectors.outage_list(**query.validated_data)
        rows = self.paginate_queryset(outages)
        assert rows is not None  # the view has a pagination class
        page = selectors.outages_cold_marked(list(rows))
        context = {"upstreams": selectors.outages_upstream_views(page)}
        data = OutageSummarySerializer(page, many=True, context=context).data
        return self.get_paginated_response(data).data


@extend_schema_view(
    get=extend_schema(
        summary="One outage with its timeline and explanation",
        responses={200: OutageDetailSerializer, **READ_ERRORS},
        examples=[examples.OUTAGE_DETAIL],
    )
)
class OutageDetailView(VersionedReadView):
    serializer_class = OutageDetailSerializer
    queryset = Outage.objects.none()

    def read(self, request: Request, **kwargs: Any) -> Any:
        try:
            outage = selectors.outage_get(outage_id=kwargs["pk"])
        except Outage.DoesNotExist:
            raise Http404 from None
        return OutageDetailSerializer(outage).data


class OutageEventCursorPagination(NewestFirstCursorPagination):
    ordering = ("-at", "-id")


@extend_schema_view(
    get=extend_schema(
        summary="Every event of one outage, newest first",
        description=(
            "Cursor-paginated (follow `next`): the whole timeline, of which the outage's own "
            "answer lists the newest events only (`timeline`, `timeline_earlier`). Entries as "
            'there; the outage\'s end is the one `kind: resolved` labelled "Back to normal".'
        ),
        responses={200: OutageEventSerializer(many=True), **READ_ERRORS},
    )
)
class OutageTimelineView(VersionedReadView):
    serializer_class = OutageEventSerializer
    pagination_class = OutageEventCursorPagination
    paginated = True
    queryset = OutageEvent.objects.none()  # for the schema; read() asks the selector

    def read(self, request: Request, **kwargs: Any) -> Any:
        try:
            outage = selectors.outage_get(outage_id=kwargs["pk"])
        except Outage.DoesNotExist:
            raise Http404 from None
        rows = self.paginate_queryset(selectors.outage_events(outage=outage))
        assert rows is not None  # the view has a pagination class
        events = list(rows)
        entries = presentation.timeline(
            outage,
            events,
            cold=selectors.outage_cold(outage),
            final_id=selectors.outage_final_event(outage=outage),
        )
        pairs = [
            {"event": event, "entry": entry} for event, entry in zip(events, entries, strict=True)
        ]
        data = OutageEventSerializer(pairs, many=True).data
        return self.get_paginated_response(data).data


@extend_schema_view(
    get=extend_schema(
        summary="Every service with problems now",
        description=(
            "All services with possible (`possible`) or detected (`problems`) problems right "
            "now, worst first, each with its active outage. Meant for dashboards: poll it "
            "with If-None-Match and most polls are a 304."
        ),
        responses={200: StatusSerializer, **errors(400, 429, 503)},
        examples=[examples.STATUS],
    )
)
class StatusView(VersionedReadView):
    serializer_class = StatusSerializer
    tells_freshness = True

    def read(self, request: Request, **kwargs: Any) -> Any:
        states = selectors.status_list()
        active = [s.outage for s in states if s.outage is not None and s.outage.is_active]
        context = {"upstreams": selectors.outages_upstream_views(active)}
        return StatusSerializer({"count": len(states), "results": states}, context=context).data
