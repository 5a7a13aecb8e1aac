"""A service's current status as numbers (ServiceState), as its status row holds it: the type the
status, reason and falling reads each refine, so it stands apart from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from detection.models import Outage, ServiceStatus
from detection.selectors.common import LEVEL_CODES, _country_codes
from reports.models import Service


@dataclass(frozen=True)
class ServiceState:
    """A service's current status as numbers; level 0 when the detector never ran."""

    service: Service
    level: int = 0
    since: datetime | None = None
    observed: float = 0.0
    expected: float | None = None
    score: float = 0.0
    rule: str = ""
    countries: list[str] = field(default_factory=list)
    outage: Outage | None = None
    updated_at: datetime | None = None
    # An open outage whose newest closed minutes are back near normal (_with_falling): one
    # verdict for the service page, the board and the API alike.
    falling: bool = False
    # A relapse (the outage reopened after it was resolved): when it came back. `countries`
    # are then the relapse's own (detection.episodes), not every episode's.
    again_since: datetime | None = None
    # Why "possible problems" is not more (POSSIBLE_REASONS); "" when the level is not 1.
    possible_reason: str = ""
    # An open outage's distinct networks reporting in the newest closed minute, and in its
    # busiest minute (_with_falling; None when not read): counted reports fall once the
    # networks' and blocks' allowances are spent, these only when people stop reporting.
    networks: int | None = None
    peak_networks: int | None = None
    # The current run's busiest minute (counted reports, and normal then) when read: a
    # relapse is judged against its own peak, not the first run's (explain tester F1).
    peak_observed: float | None = None
    peak_expected: float | None = None
    # The service has no history yet (a cold start, presentation.cold_start): its `expected`
    # is the detector's guess for a new service, which the words do not call its normal.
    # Read for one service's state, and for a list's states in problems (_with_cold).
    cold: bool = False

    @property
    def run_since(self) -> datetime | None:
        """Where the current run of problems began: the relapse's onset, else the outage's."""
        if self.outage is None:
            return None
        return self.again_since or self.outage.started_at

    @property
    def code(self) -> str:
        return LEVEL_CODES.get(self.level, "ok")

    @property
    def problems_since(self) -> datetime | None:
        # The outage's onset is what people mean by "since when", not when we noticed.
        if self.level == 0:
            return None
        if self.outage is not None and self.outage.is_active:
            return self.outage.started_at
        return self.since


def _outage_open(state: ServiceState) -> bool:
    outage = state.outage
    return state.level >= 2 and outage is not None and outage.is_active


def _state_from_row(service: Service, row: ServiceStatus | None) -> ServiceState:
    if row is None:
        return ServiceState(service=service)
    return ServiceState(
        service=service,
        level=int(row.level),
        since=row.since,
        observed=row.observed,
        expected=row.expected,
        score=row.score,
        rule=row.rule,
        countries=_country_codes(row.countries),
        outage=row.outage,
        updated_at=row.updated_at,
    )
