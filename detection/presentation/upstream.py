"""Upstream outages: several services with problems at once, probably one provider's outage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from detection.presentation.times import TIME, TIME_END, render_span
from detection.presentation.words import join_words

if TYPE_CHECKING:
    from detection.selectors import UpstreamView


# Services named in an upstream sentence before "and N more".
UPSTREAM_NAMED = 2


def upstream_affected(names: Sequence[str]) -> str:
    """ "Discord, Shopify and 5 more"; all of them when only one more would be left."""
    if len(names) <= UPSTREAM_NAMED + 1:
        return join_words(names)
    rest = len(names) - UPSTREAM_NAMED
    return join_words([*names[:UPSTREAM_NAMED], f"{rest} more"])


def upstream_sentence(
    view: UpstreamView,
    *,
    html: bool = False,
    zone: tzinfo | str = UTC,
    now: datetime | None = None,
) -> str:
    """ "Probably an outage at Cloudflare: Discord, Shopify and 5 more are affected since
    09:12 UTC." (in ``zone``; ``html``: the times as <time> elements for pages)."""
    names = [m.service_name for m in view.affected]
    listed = upstream_affected(names)
    one = len(names) == 1
    head = f"Probably an outage at {view.provider_name}: {listed}"
    if view.is_active:
        text = f"{head} {'is' if one else 'are'} affected since {TIME}."
    else:
        text = f"{head} {'was' if one else 'were'} affected from {TIME} to {TIME_END}."
    return render_span(text, view.started_at, view.resolved_at, html=html, zone=zone, now=now)


def upstream_note(view: UpstreamView, *, outage_id: int) -> str:
    """On the page of one of its outages: what the others are (the page links them)."""
    others = [m for m in view.affected if m.outage_id != outage_id]
    provider = view.provider_name
    if not others:
        return f"Probably caused by an outage at {provider}."
    count = len(others)
    services = "service" if count == 1 else "services"
    if any(m.is_provider and m.outage_id == outage_id for m in view.members):
        return (
            f"{count} {services} that run on {provider} had problems at the same time: "
            f"probably one outage at {provider}."
        )
    return (
        f"Probably part of an outage at {provider}: {count} other {services} on {provider} "
        f"had problems at the same time."
    )
