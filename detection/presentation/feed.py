"""An outage's Atom feed entry as a reader sees it: one build for the feeds and for the
fingerprint that dates the entry (detection.services.feed_entries)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from detection.presentation.outages import outage_summary, outage_title

if TYPE_CHECKING:
    from detection.models import Outage


@dataclass(frozen=True)
class FeedEntry:
    """The words and categories of an entry (its link follows from the outage's id)."""

    title: str
    summary: str  # plain text: the feed escapes it as its format needs
    categories: tuple[str, ...]

    @property
    def digest(self) -> str:
        """A fingerprint of what the entry shows, for Outage.entry_digest."""
        text = "\x1f".join((self.title, self.summary, *self.categories))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def feed_entry(outage: Outage, problems: Sequence[dict[str, Any]], *, cold: bool) -> FeedEntry:
    """``problems`` as detection.selectors.outage_problems returns them; ``cold`` as
    outage_summary takes it. Feed readers show entries long after they were written: always
    with the date."""
    return FeedEntry(
        title=outage_title(outage, date=True),
        summary=outage_summary(outage, problems, date=True, cold=cold),
        categories=(outage.service.slug, outage.status),
    )
