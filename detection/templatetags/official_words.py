"""Template access to detection.presentation's official-status words.

{% official_says status %}      "The official status page says: ..." (a readable page only)
{% official_read status %}      when it was last read, or that it could not be (<time>)
{{ status|official_readable }}  whether its last read may be shown as what it says now
{{ word|official_incident_status }}   the provider's status word for people
{% official_lead official %}     who knew first, on the outage page
"""

from __future__ import annotations

from django import template

from detection import presentation
from detection.official.selectors import OfficialStatus, OutageOfficial

register = template.Library()


@register.simple_tag
def official_says(status: OfficialStatus) -> str:
    return presentation.official_status_sentence(status)


@register.simple_tag
def official_read(status: OfficialStatus) -> str:
    return presentation.official_read_sentence(status, html=True)


@register.filter
def official_readable(status: OfficialStatus | None) -> bool:
    return presentation.official_readable(status)


@register.filter
def official_incident_status(status: str) -> str:
    return presentation.official_incident_status(status)


@register.simple_tag
def official_lead(official: OutageOfficial) -> str:
    return presentation.official_lead_sentence(official)
