"""Atom feeds of outages: site-wide and per service, in the words of detection.presentation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.db.models import Min
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from detection import presentation, selectors
from detection.models import Outage
from detection.presentation import absolute
from reports import selectors as catalog
from reports.models import Service
from reports.text import xml_safe

FEED_ITEMS = 50
# An empty feed's date when not even a service is watched.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class _Atom(Atom1Feed):
    def latest_post_date(self) -> datetime:
        # Django dates a feed with no entries "now": its <updated>, ETag and Last-Modified
        # changed on every request, so the feed of a service that never broke (most of them)
        # was never a 304 and looked updated to every reader's poll (docs tester, forty-seventh
        # session). Such a feed is as old as what it watches.
        if not self.items:
            return self.feed["empty_since"]
        return super().latest_post_date()


class OutageFeed(Feed):
    feed_type = _Atom
    title = "OutageWatch: outages"
    subtitle = "Outages detected from people's problem reports, newest first."
    # RFC 4287 wants an author on the feed (or on every entry); validators refuse it without.
    author_name = "OutageWatch"

    def author_link(self) -> str:
        return absolute("/")

    # Every address is the public site's (SITE_URL), not the request's host: a reader that
    # fetched the feed by another allowed name would see every entry as new, and the Host's
    # port and X-Forwarded-Proto, which Django does not check, put a client's choice in the
    # links a shared cache could serve to others (red-team tester F4).
    def link(self) -> str:
        return absolute(reverse("detection:outages"))

    def feed_url(self) -> str:
        return absolute(reverse("detection:feed"))

    def feed_guid(self, obj: Service | None = None) -> str:
        return self.link() if obj is None else self.link(obj)  # type: ignore[call-arg]

    def item_guid(self, item: Outage) -> str:
        return self.item_link(item)

    def items(self) -> list[Outage]:
        return selectors.outages_cold_marked(list(selectors.outage_list()[:FEED_ITEMS]))

    def feed_extra_kwargs(self, obj: Service | None) -> dict[str, Any]:
        if obj is not None:
            since = obj.watched_since
        else:
            since = Service.objects.aggregate(first=Min("watched_since"))["first"]
        return {"empty_since": since or _EPOCH}

    def item_title(self, item: Outage) -> str:
        return xml_safe(_entry(item).title)

    def item_description(self, item: Outage) -> str:
        # Atom1Feed writes a description as <summary type="html">: plain text must be escaped
        # as HTML first, or a reader renders "<img ...>" in a name as an image (RFC 4287
        # 3.1.1.2; text tester, forty-sixth session).
        return xml_safe(escape(_entry(item).summary))

    def item_link(self, item: Outage) -> str:
        return absolute(reverse("detection:outage", kwargs={"pk": item.pk}))

    def item_pubdate(self, item: Outage) -> datetime:
        return item.started_at

    def item_updateddate(self, item: Outage) -> datetime:
        # When what the entry shows last changed (detection.services.feed_entries), not
        # updated_at, which an open outage moves every minute: its feed was never a 304.
        return item.entry_updated_at

    def item_categories(self, item: Outage) -> list[str]:
        return list(_entry(item).categories)


def _entry(item: Outage) -> presentation.FeedEntry:
    """The item's entry, built once for its title, summary and categories."""
    entry = getattr(item, "feed_entry", None)
    if entry is None:
        cold = getattr(item, "cold_start", False)
        entry = presentation.feed_entry(item, selectors.outage_problems(item), cold=cold)
        item.feed_entry = entry
    return entry


class ServiceOutageFeed(OutageFeed):
    def get_object(self, request: HttpRequest, slug: str) -> Service:  # type: ignore[override]
        try:
            return catalog.service_get(slug=slug)
        except Service.DoesNotExist:
            raise Http404("No such service.") from None

    def title(self, obj: Service) -> str:  # type: ignore[override]
        return xml_safe(f"OutageWatch: {obj.name} outages")

    def link(self, obj: Service) -> str:  # type: ignore[override]
        return absolute(obj.get_absolute_url())

    def feed_url(self, obj: Service) -> str:  # type: ignore[override]
        return absolute(reverse("detection:service-feed", kwargs={"slug": obj.slug}))

    def feed_guid(self, obj: Service | None = None) -> str:
        # RFC 4287: a feed's id never changes. A renamed service's feed keeps the id it had
        # under its first slug (that address redirects to the current page).
        assert obj is not None
        first = obj.former_slugs.order_by("pk").values_list("slug", flat=True).first()
        slug = first or obj.slug
        return absolute(reverse("reports:service", kwargs={"slug": slug}))

    def items(self, obj: Service) -> list[Outage]:  # type: ignore[override]
        return selectors.outages_cold_marked(list(selectors.outage_list(service=obj)[:FEED_ITEMS]))
