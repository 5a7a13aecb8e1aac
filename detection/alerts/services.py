"""Alert emails for outages (issue 5 fills this in)."""

from __future__ import annotations

from detection.models import Outage


def alerts_schedule(*, outage: Outage, kind: str) -> None:
    """Called inside the transaction that opens or resolves ``outage``.

    Creates the AlertDelivery rows for matching confirmed subscriptions and queues
    their sending after commit.
    """
