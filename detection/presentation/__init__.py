"""Words shown to people about service status and outages: pages, emails, Atom feeds and the
API's sentences are all built in this package, from the data that detection.selectors returns.

Plain words: "About 42 reports a minute, where about 3 are normal", country and problem names,
never a rule name, p-value or score (those appear only in the outage page's collapsed "How we
decided", built by ``decision_details``). Rates are per minute and totals say their span, so
one sentence never mixes the two.

Times: every time is given in UTC here ("14:05 UTC"); pages wrap it in ``<time datetime>``
(``time_html``) that static/js/localtime.js rewrites to the reader's zone, and emails format
it in the subscriber's zone (``time_in_zone``). One outage has one end: ``outage_end``, from
which the page header, its timeline, emails, feeds and the API all take it.

One module per subject (words, times, charts, status, outages, decisions, track record,
upstream and official status); this package names what the rest of the project uses.
"""

from detection.presentation.charts import (
    series_caption,
)
from detection.presentation.decisions import (
    DecisionLine,
    chance_words,
    decision_details,
    rule_technical,
    rule_words,
)
from detection.presentation.feed import (
    FeedEntry,
    feed_entry,
)
from detection.presentation.official import (
    OFFICIAL_INDICATORS,
    official_alert_sentence,
    official_incident_status,
    official_indicator,
    official_lead_sentence,
    official_read_sentence,
    official_readable,
    official_status_sentence,
)
from detection.presentation.outages import (
    TimelineEntry,
    cold_sentence,
    cold_start,
    figures_scope,
    normally,
    outage_duration,
    outage_end,
    outage_period,
    outage_summary,
    outage_title,
    outage_totals,
    timeline,
    timeline_earlier,
)
from detection.presentation.status import (
    COUNTER_LABELS,
    POSSIBLE_WHY,
    status_label,
    status_look,
    status_sentence,
    status_why,
)
from detection.presentation.times import (
    iso_utc,
    offset_text,
    time_html,
    time_in_zone,
    time_text,
    zone_get,
)
from detection.presentation.track_record import (
    TRACK_RECORD_COLUMNS,
    TRACK_RECORD_INTRO,
    track_record_lead,
    track_record_span,
    track_record_summary,
)
from detection.presentation.upstream import (
    UPSTREAM_NAMED,
    upstream_affected,
    upstream_note,
    upstream_sentence,
)
from detection.presentation.words import (
    FALLING_LABEL,
    LEVEL_LABELS,
    about,
    about_reports,
    absolute,
    countries_in_sentence,
    country_in_sentence,
    country_name,
    country_names,
    duration_text,
    excess_words,
    join_words,
    level_label,
    rate_phrase,
)

__all__ = [
    "COUNTER_LABELS",
    "FALLING_LABEL",
    "LEVEL_LABELS",
    "OFFICIAL_INDICATORS",
    "POSSIBLE_WHY",
    "TRACK_RECORD_COLUMNS",
    "TRACK_RECORD_INTRO",
    "UPSTREAM_NAMED",
    "DecisionLine",
    "FeedEntry",
    "TimelineEntry",
    "about",
    "about_reports",
    "absolute",
    "chance_words",
    "cold_sentence",
    "cold_start",
    "countries_in_sentence",
    "country_in_sentence",
    "country_name",
    "country_names",
    "decision_details",
    "duration_text",
    "excess_words",
    "feed_entry",
    "figures_scope",
    "iso_utc",
    "join_words",
    "level_label",
    "normally",
    "official_alert_sentence",
    "official_incident_status",
    "official_indicator",
    "official_lead_sentence",
    "official_read_sentence",
    "official_readable",
    "official_status_sentence",
    "offset_text",
    "outage_duration",
    "outage_end",
    "outage_period",
    "outage_summary",
    "outage_title",
    "outage_totals",
    "rate_phrase",
    "rule_technical",
    "rule_words",
    "series_caption",
    "status_label",
    "status_look",
    "status_sentence",
    "status_why",
    "time_html",
    "time_in_zone",
    "time_text",
    "timeline",
    "timeline_earlier",
    "track_record_lead",
    "track_record_span",
    "track_record_summary",
    "upstream_affected",
    "upstream_note",
    "upstream_sentence",
    "zone_get",
]
