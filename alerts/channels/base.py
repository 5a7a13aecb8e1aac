"""The one interface every alert channel implements.

A transport sends one notice and either returns (the receiver has it) or raises
TransportError saying whether trying again could help: a transient failure (timeout, 5xx,
connection refused) is retried with backoff from the delivery row; a permanent one (404,
a refused address) is not, and counts towards disabling the channel; one that says the
destination itself is gone (a mailbox that does not exist) disables it at once. Transports
know nothing about rows, claims or retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

# How a stored error begins when the relay refused one recipient (alerts.channels.email): that
# address's trouble, not the relay's (alerts.selectors.mail_stuck).
ADDRESS_REFUSED = "the mail relay refused the address"

if TYPE_CHECKING:
    from alerts.models import AlertDelivery, Subscription
    from detection.models import Outage


class TransportError(Exception):
    """Sending failed; ``permanent`` says whether another attempt could succeed, ``gone``
    that the destination no longer exists (only ever with ``permanent``), ``maybe_delivered``
    that it failed after the receiver had the whole message (no answer to it): the receiver
    may have kept it."""

    def __init__(
        self, message: str, *, permanent: bool, gone: bool = False, maybe_delivered: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or gone
        self.gone = gone
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True)
class Notice:
    """One message about one outage event to one subscription, in every channel's terms.

    Words shown to people come from alerts.presentation; the machine fields are for the
    webhook body. ``delivery_id`` is the receivers' idempotency key: a resend after a
    crash carries the same one.
    """

    delivery_id: int
    event: str  # opened | reopened | resolved | acknowledged | test
    subscription: Subscription
    outage: Outage | None  # None: an upstream outage's notice (event "upstream", in ``extra``)
    episode: int
    title: str  # one line, e.g. "Acme: problems detected in Germany since 12:03 UTC"
    summary: str  # one or two sentences
    countries: list[str]  # ISO codes, most reports first
    country_names: list[str]
    observed: float  # peak counted reports per minute
    expected: float  # expected at the peak
    problems: list[dict[str, Any]]  # [{"slug", "name", "count"}]
    outage_url: str
    service_url: str
    at: datetime  # when it was sent
    # Email only: the delivery row and the earlier alert this one was held back after.
    delivery: AlertDelivery | None = None
    earlier: AlertDelivery | None = None
    # Whether the provider's status page has acknowledged it, in words ("" without one),
    # and its incident for the webhook body (id, title, url, status, acknowledged_at).
    official: str = ""
    official_incident: dict[str, Any] | None = None
    # The outage in plain words, times in the subscriber's zone (as the API's explanation).
    explanation: str = ""
    # What the message quotes (alerts.presentation.Figures): the outage's, or a relapse's.
    figures: Any = None
    # A "resolved" whose "detected" never reached the subscriber (their channel was down).
    unreached: bool = False
    # The whole outage's problems (``problems`` are a relapse's when the message quotes one),
    # and whether it does: the webhook body keeps the outage and the relapse apart.
    outage_problems: list[dict[str, Any]] = field(default_factory=list)
    relapse: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    def send(self, notice: Notice) -> None:
        """Deliver the notice, or raise TransportError."""
        ...
