"""Reads for the outage API and pages: status, report counts, series with the expected band,
outages, sparklines and breakdowns.

Views and serializers call these and only shape the output; nothing here knows about HTTP.
Data only: the words people read are built from it in detection.presentation.
Buckets are sparse (a minute without reports has no row), so every series is filled with 0.

One module per job; this package names what the rest of the project uses:
- status: one service's status, the services in problems, the service overview and its report
  counts, put together from state (ServiceState), reasons (why "possible problems" is not
  more) and falling (an open outage's newest minutes);
- series: a series of counted reports with its expected band;
- pipeline: how far the minute jobs have got, and whether a verdict read now is current;
- outages: outage lists and their watermark, one outage's timeline and details, history;
- breakdowns: sparklines, and the last day's reports by country and by problem;
- upstream: upstream outages and the outages they group;
- common: the small helpers they share.
Imports run one way, from status down to common, never in a circle.
"""

from detection.selectors.breakdowns import (
    SPARKLINE_HOURS,
    country_breakdown,
    problem_breakdown,
    sparklines,
    sparklines_to,
)
from detection.selectors.common import LEVEL_CODES, epoch_minute, minute_datetime, minutes_between
from detection.selectors.falling import FALLING_MINUTES, minute_stored, minutes_stored
from detection.selectors.outages import (
    HISTORY_LIMIT,
    STAMP_MARGIN,
    TIMELINE_EVENTS,
    UNSEEN_WRITES_LAG,
    OutageTimeline,
    outage_cold,
    outage_count,
    outage_countries,
    outage_events,
    outage_final_event,
    outage_get,
    outage_history,
    outage_list,
    outage_problems,
    outage_spans,
    outage_timeline,
    outages_cold_marked,
    outages_updated_until,
)
from detection.selectors.pipeline import (
    DetectionFreshness,
    PipelineProgress,
    bucketed_until,
    detection_freshness,
    minute_judged,
    pipeline_progress,
)
from detection.selectors.reasons import POSSIBLE_REASONS
from detection.selectors.series import (
    BAND_SIGMAS,
    DEFAULT_RESOLUTION,
    MAX_WINDOW,
    RESOLUTIONS,
    WINDOWS,
    Series,
    SeriesPoint,
    series_between,
    series_build,
    series_window,
)
from detection.selectors.state import ServiceState
from detection.selectors.status import (
    ServiceOverview,
    report_counts,
    service_overview,
    service_state_get,
    status_list,
)
from detection.selectors.upstream import (
    UpstreamMember,
    UpstreamView,
    outages_upstream_views,
    upstream_active,
    upstream_views,
)

__all__ = [
    "BAND_SIGMAS",
    "DEFAULT_RESOLUTION",
    "FALLING_MINUTES",
    "HISTORY_LIMIT",
    "LEVEL_CODES",
    "MAX_WINDOW",
    "POSSIBLE_REASONS",
    "RESOLUTIONS",
    "SPARKLINE_HOURS",
    "STAMP_MARGIN",
    "TIMELINE_EVENTS",
    "UNSEEN_WRITES_LAG",
    "WINDOWS",
    "DetectionFreshness",
    "OutageTimeline",
    "PipelineProgress",
    "Series",
    "SeriesPoint",
    "ServiceOverview",
    "ServiceState",
    "UpstreamMember",
    "UpstreamView",
    "bucketed_until",
    "country_breakdown",
    "detection_freshness",
    "epoch_minute",
    "minute_datetime",
    "minute_judged",
    "minute_stored",
    "minutes_between",
    "minutes_stored",
    "outage_cold",
    "outage_count",
    "outage_countries",
    "outage_events",
    "outage_final_event",
    "outage_get",
    "outage_history",
    "outage_list",
    "outage_problems",
    "outage_spans",
    "outage_timeline",
    "outages_cold_marked",
    "outages_updated_until",
    "outages_upstream_views",
    "pipeline_progress",
    "problem_breakdown",
    "report_counts",
    "series_between",
    "series_build",
    "series_window",
    "service_overview",
    "service_state_get",
    "sparklines",
    "sparklines_to",
    "status_list",
    "upstream_active",
    "upstream_views",
]
