"""The outage lifecycle and service status, driven by one tick's transitions.

One Outage per service at a time (a database constraint): the first of its series that
fires opens it, other firing series (countries) join it, and it resolves when none of the
service's series is still in the outage state. A re-fire soon after resolution reopens the
same outage rather than starting a new one, so a flapping service is one story, not many.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from django.db.models import Count, Q, Sum
from django.utils import timezone

from alerts.services import alerts_notify, services_alerts_lock
from detection.core import STATE_OUTAGE, STATE_POSSIBLE, TickResult
from detection.core.phase import PHASE_MINUS, PHASE_PLUS
from detection.episodes import outage_episode
from detection.models import (
    OVERALL,
    Bucket,
    Outage,
    OutageEvent,
    OutageNetwork,
    SeriesBaseline,
    SeriesState,
    ServiceStatus,
)
from detection.reads import services_cold
from detection.services.bulk import update, upsert
from detection.services.config import detector_config, listing_sites
from detection.services.feed_entries import outages_entries_date
from detection.services.outage_tally import Tally, outage_tallies, tallies_trimmed
from detection.services.series import SeriesKey
from detection.services.timeutil import from_epoch_minute, to_epoch_minute
from outagewatch.rounding import figure_text
from reports.models import Report, Service
from reports.selectors import report_site

TOP_PROBLEMS = 5
# A country "stands out" in an overall outage when it sends at least this share of reports,
# from as many distinct networks as an outage needs (_countries_backed).
COUNTRY_SHARE = 0.2


@dataclass(frozen=True, eq=False)
class TickView:
    keys: list[SeriesKey]
    result: TickResult
    observed: np.ndarray  # (n,) counted reports of the judged minute
    minute: dt.datetime  # the judged minute
    now: dt.datetime  # when the tick ran: detection time
    # (n, w) counted reports of the window's minutes, the judged one last (None: only it).
    window: np.ndarray | None = None

    def by_service(self) -> dict[int, list[int]]:
        return self._groups

    @cached_property
    def _groups(self) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for i, (sid, _) in enumerate(self.keys):
            groups[sid].append(i)
        return groups


# What a minute's refresh of an outage changes (saved for all its outages at once).
_REFRESHED = [
    "score", "peak_observed", "peak_expected", "peak_at", "top_problems", "countries",
    "total_reports", "networks", "explanation", "tally",
]  # fmt: skip


@dataclass(frozen=True)
class _Step:
    """One outage's share of a tick: its service's series and which of them fire or run."""

    outage: Outage
    idx: list[int]
    fired: list[int]
    in_outage: list[int]
    opened: bool
    overall: int | None  # the service's overall series, which the peak is read from


@dataclass(frozen=True)
class Applied:
    active: dict[int, int]  # service id -> its active outage's id
    retired: int  # outages ended because their service left the catalog


def outages_apply(*, view: TickView) -> Applied:
    """Open, extend, update and resolve outages."""
    tr = view.result.transition
    firing = tr.opened | tr.reopened
    groups = view.by_service()
    active = {o.service_id: o for o in Outage.objects.filter(status=Outage.Status.ACTIVE)}
    # Only services with a firing series or an open outage have anything to do.
    firing_services = {view.keys[i][0] for i in np.flatnonzero(firing)}
    # Whether each service that may open an outage has history yet, in one query: a provider
    # down opens hundreds at once.
    opening = (firing_services - active.keys()) & groups.keys()
    cold = services_cold(service_ids=opening) if opening else frozenset()
    candidates = (firing_services | active.keys()) & groups.keys()
    retired = _retired(active, idle=active.keys() - groups.keys())
    # Alerts lock the row of each service it is told of. Taken all at once, in pk order, as
    # the catalog load takes them: one after another in this loop's order, then the retired
    # ones, a load holding one of them while waiting for another was a deadlock.
    services_alerts_lock(service_ids=candidates | {o.service_id for o in retired})
    steps: list[_Step] = []
    for sid in sorted(candidates):
        idx = groups[sid]
        outage = active.get(sid)
        fired = [i for i in idx if firing[i]]
        opened = False
        if fired and outage is None:
            outage = _reopen_recent(sid, fired, view)
            if outage is None:
                outage, opened = _open(sid, fired, view, cold=sid in cold), True
        if outage is not None:
            in_outage = [i for i in idx if tr.state.state[i] == STATE_OUTAGE]
            overall = next((i for i in idx if view.keys[i][1] == OVERALL), None)
            steps.append(_Step(outage, idx, fired, in_outage, opened, overall))
    # The counts of every outage at once: a minute with many outages (a provider down) or a
    # long one (a giant service) reads what changed, not everything since each onset.
    tallies = outage_tallies([s.outage for s in steps], view.minute)
    # Where the newest minute is not elevated (quiet minutes confirming an end, or the end
    # itself), the counts stop at the last one that was: the same figure the outage will
    # keep when it resolves.
    ends = {s.outage.id: _end(s.outage, s.idx, view) for s in steps if not s.in_outage}
    for s in steps:
        until = _elevated_until(s.idx, view)
        if s.in_outage and not s.opened and until is not None and until <= view.minute:
            ends[s.outage.id] = max(until, s.outage.started_at)
    trimmed = tallies_trimmed(
        [(s.outage, tallies[s.outage.id], ends[s.outage.id]) for s in steps if s.outage.id in ends],
        view.minute,
    )
    result: dict[int, int] = {}
    for step in steps:
        outage, tally = step.outage, tallies[step.outage.id]
        end = None if step.in_outage else ends[outage.id]
        if end is None:  # its peak, among the minutes its total counts
            _peak_update(outage, step.overall, view, until=ends.get(outage.id))
        if step.opened:
            # Its subscribers are found by its countries: fill them in before telling them.
            _refresh(outage, step.fired, view, tally)
            outage.save()
            _opening_countries_record(outage, step.fired, view)
            alerts_notify(outage=outage, change="opened")
        for i in step.fired:
            _country_join(outage, view.keys[i][1], view, i)
        listed = set(outage.countries)
        if outage.id in trimmed:
            tally = trimmed[outage.id]
            outage.networks = tally.networks
        _refresh(outage, step.in_outage, view, tally, end=end)
        _countries_standing_out(outage, listed, view, tally)
        if end is not None:
            _resolve(outage, end, view)
        else:
            result[outage.service_id] = outage.id
    outages_refreshed_save([s.outage for s in steps])
    _retired_resolve(retired, view)
    outages_entries_date(outages=[s.outage for s in steps] + retired, now=view.now)
    return Applied(result, len(retired))


def _retired(active: dict[int, Outage], *, idle: set[int]) -> list[Outage]:
    """The open outages of services retired from the catalog, among those of services with
    no series this minute: asked only then (almost never)."""
    if not idle:
        return []
    retired = Service.objects.filter(pk__in=idle, is_active=False).values_list("pk", flat=True)
    return [active[sid] for sid in sorted(retired)]


def _retired_resolve(retired: list[Outage], view: TickView) -> None:
    """Resolve the open outages of services retired from the catalog (is_active off): their
    series are no longer ticked, so nothing else would ever end them; their subscribers were
    told one began and hear that it ended, and their status rows go with them (the pages and
    the API list active services only)."""
    for outage in retired:
        outage.status = Outage.Status.RESOLVED
        outage.resolved_at = max(view.minute, outage.started_at)
        outage.save(update_fields=["status", "resolved_at", "updated_at"])
        _event(
            outage,
            OutageEvent.Kind.RESOLVED,
            view,
            None,
            "The service was retired from the catalog: no longer watched.",
        )
        alerts_notify(outage=outage, change="resolved")
    if retired:
        ServiceStatus.objects.filter(service_id__in={o.service_id for o in retired}).delete()


def outages_refreshed_save(outages: list[Outage]) -> None:
    """Save what a minute's refresh changes in these outages, in one statement."""
    if not outages:
        return
    now = timezone.now()  # as save() would stamp them
    columns = {name: [getattr(o, name) for o in outages] for name in ["id", *_REFRESHED]}
    columns["updated_at"] = [now] * len(outages)
    update(Outage, columns, key="id")


def _reopen_recent(service_id: int, fired: list[int], view: TickView) -> Outage | None:
    """The service's last outage, reopened, where it was judged over (the "resolved"
    message, its RESOLVED entry) within reopen_minutes, as the core measures a series' own
    window. Measured from the outage's end instead, quiet_minutes earlier, problems back
    15-30 minutes after the message opened a second outage, dated from the first one's onset
    (maintainer review, forty-third session). Any series firing counts, not only those the
    core reopens: a country that joined none of the first run's series may bring it back."""
    window = dt.timedelta(minutes=detector_config().state.reopen_minutes)
    outage = (
        Outage.objects.filter(
            service_id=service_id,
            status=Outage.Status.RESOLVED,
            events__kind=OutageEvent.Kind.RESOLVED,
            events__at__gte=view.now - window,
        )
        .order_by("-resolved_at")
        .first()
    )
    if outage is None:
        return None
    lull = outage.resolved_at
    outage.status = Outage.Status.ACTIVE
    outage.resolved_at = None
    # Its quiet minutes are its own again: so are the networks first heard in them, which
    # its resolution left out of the count (the kept tally adds to this count).
    outage.networks = OutageNetwork.objects.filter(outage=outage).count()
    if outage.tally:
        outage.tally["networks"] = outage.networks
    onset = _relapse_onset(fired, view, lull=lull)
    # The lull is in its span, not its duration: "lasted 39 min" counted 16 quiet ones.
    outage.paused_minutes += max(int((onset - lull).total_seconds() // 60), 0) if lull else 0
    outage.save(
        update_fields=["status", "resolved_at", "networks", "tally", "paused_minutes", "updated_at"]
    )
    message = "Reports rose again; same outage."
    _event(outage, OutageEvent.Kind.REOPENED, view, None, message, since=onset)
    # Where it came back, before telling anyone: alerts tells followers of these countries.
    _relapse_countries_record(outage, fired, view, since=onset)
    alerts_notify(outage=outage, change="reopened")
    return outage


def _relapse_countries_record(
    outage: Outage, fired: list[int], view: TickView, *, since: dt.datetime
) -> None:
    """The relapse's countries, as COUNTRY events after its REOPENED one (detection.episodes
    reads them back): those whose own series fired, and those carrying at least COUNTRY_SHARE
    of its excess (_relapse_shares). The outage's countries add up its episodes, and a
    follower of a country of the first run is not concerned by a relapse from elsewhere (F25).

    By the series that fired alone, a relapse two thirds American was "problems again in
    Germany" in every message: the United States' series, held by its own threshold after the
    first run, had not fired yet (words tester F1). None standing out leaves the relapse
    without countries: spread everywhere, and told to every follower."""
    by_country = {view.keys[i][1]: i for i in fired if view.keys[i][1] != OVERALL}
    shares = _relapse_shares(outage.service_id, since, view.minute)
    # Recorded most extra reports first: the relapse's countries are read back in this order
    # (detection.episodes), and said as "Most reports come from ..." (regression tester F4).
    for country in [*shares, *(c for c in by_country if c not in shares)]:
        if country in by_country:
            i = by_country[country]
            _country_record(outage, country, view, i, _verdict(view, i))
        else:
            share = 100 * shares[country]
            message = f"{country}: {share:.0f}% of the extra reports since they rose again."
            _country_record(outage, country, view, None, message)


def _relapse_onset(fired: list[int], view: TickView, *, lull: dt.datetime | None) -> dt.datetime:
    """The first minute of the excess that fired a relapse: the earliest first minute of the
    current excess run (the tick's onset) among the series that fired, not the series' kept
    onset (a reopened series keeps its first run's), and not before the lull's end, whose
    normal traffic is no part of it.

    Not the start of the longest window that fired: a relapse caught by the 60-minute sum,
    which still holds the first run's reports, was dated from the lull's end ("again since
    19:32" for problems back at 19:50; pages tester F20), its quiet minutes counted in its
    duration and totals."""
    start = from_epoch_minute(int(min(view.result.onset[i] for i in fired)))
    return start if lull is None else max(start, lull)


def _relapse_shares(service_id: int, start: dt.datetime, end: dt.datetime) -> dict[str, float]:
    """Countries carrying at least COUNTRY_SHARE of the service's extra counted reports from
    ``start`` to ``end`` (its minute included), largest share first, each backed by the
    networks an outage needs. Extra over the as many minutes before ``start`` (the lull after
    the first run, the same time of day): by their share of all reports, a country that
    merely sends most of a service's ordinary traffic would be named for another's relapse."""
    span = end + dt.timedelta(minutes=1) - start
    rows = (
        Bucket.objects.filter(service_id=service_id, minute__gte=start - span, minute__lte=end)
        .exclude(country=OVERALL)
        .values("country")
        .annotate(
            now=Sum("counted", filter=Q(minute__gte=start), default=0),
            before=Sum("counted", filter=Q(minute__lt=start), default=0),
        )
    )
    extra = {row["country"]: max(row["now"] - row["before"], 0) for row in rows}
    total = sum(extra.values())
    if not total:
        return {}
    shares = {
        country: n / total
        for country, n in sorted(extra.items(), key=lambda kv: (-kv[1], kv[0]))
        if n >= COUNTRY_SHARE * total
    }
    backed = _countries_backed(service_id, list(shares), start, end)
    return {country: share for country, share in shares.items() if country in backed}


def _countries_backed(
    service_id: int, countries: list[str], start: dt.datetime, end: dt.datetime
) -> set[str]:
    """Of these countries, those whose counted reports from ``start`` to ``end`` (its minute
    included) came from more distinct networks than one host can hold, and at least as many
    as an outage needs, counted as sites (an IPv6 /48 is one, whichever of its /56s sent:
    regression tester F1).

    A report's country is what its sender says: by its share alone, one host with three
    addresses (its IPv4, its IPv6 and a tunnel's /48) put North Korea on a real outage of 14
    reports, and told North Korea's followers (abuse tester F1); with four sites (a phone's
    network too), at the outage's four, it still did (verifier, fiftieth session). Asked only
    of countries not listed yet, so rarely: once listed, a country stays."""
    if not countries:
        return set()
    rows = (
        Report.objects.filter(
            service_id=service_id,
            counted=True,
            country__in=countries,
            created_at__gte=start,
            created_at__lt=end + dt.timedelta(minutes=1),
        )
        .values("country")
        .annotate(networks=Count(report_site(), distinct=True))
        .values_list("country", "networks")
    )
    minimum = listing_sites()
    return {country for country, networks in rows if networks >= minimum}


def _country_record(
    outage: Outage, country: str, view: TickView, i: int | None, message: str
) -> None:
    """A country of the current episode, on the timeline (detection.episodes reads it back)
    and in the outage's list."""
    if country not in outage.countries:
        outage.countries = [*outage.countries, country]
        outage.save(update_fields=["countries", "updated_at"])
    if i is None:
        OutageEvent.objects.create(
            outage=outage, at=view.now, kind=OutageEvent.Kind.COUNTRY, country=country,
            message=message[:300],
        )  # fmt: skip
    else:
        _event(outage, OutageEvent.Kind.COUNTRY, view, i, f"{country}: {message}")


def _strongest(fired: list[int], view: TickView) -> int:
    """The series whose verdict opens the outage: the highest score."""
    return max(fired, key=lambda j: view.result.scores.score[j])


def _open(service_id: int, fired: list[int], view: TickView, *, cold: bool) -> Outage:
    # A reopened series keeps its last outage's onset; where that outage is not continued,
    # the new one starts with the current run of excess.
    tr = view.result.transition
    onsets = np.where(tr.reopened[fired], view.result.onset[fired], tr.state.onset[fired])
    i = _strongest(fired, view)
    outage = Outage.objects.create(
        service_id=service_id,
        status=Outage.Status.ACTIVE,
        started_at=from_epoch_minute(int(onsets.min())),
        detected_at=view.now,
        rule=str(view.result.scores.rule[i]),
        score=float(view.result.scores.score[i]),
        judged_cold=cold,
    )
    _event(outage, OutageEvent.Kind.OPENED, view, i, _verdict(view, i))
    return outage


def _opening_countries_record(outage: Outage, fired: list[int], view: TickView) -> None:
    """The other countries whose own series fired with the opening one, on the timeline
    beside it: the OPENED entry names one, and the others were listed by the opening
    minute's shares without a word of their own evidence (tester, fortieth session). Their
    followers are told by the opening notice, which goes by the outage's countries."""
    opening = view.keys[_strongest(fired, view)][1]
    for i in fired:
        country = view.keys[i][1]
        if country not in (OVERALL, opening):
            _country_record(outage, country, view, i, _verdict(view, i))


def _country_join(outage: Outage, country: str, view: TickView, i: int) -> None:
    if country == OVERALL:
        return
    episode = outage_episode(outage=outage)
    # In a relapse, a country listed from an earlier episode joins it anew when its series
    # fires: its followers were not told of the relapse, and hear "problems again" now.
    if country in (episode.countries if episode.number else outage.countries):
        return
    _country_record(outage, country, view, i, _verdict(view, i))
    # Subscribers who follow only this country hear about it now; others already have a row.
    alerts_notify(outage=outage, change="country")


def _countries_standing_out(outage: Outage, listed: set[str], view: TickView, tally: Tally) -> None:
    """Countries _refresh listed for their share of the reports (not their own series firing):
    on the timeline, and their followers told, as for a country whose series fired. Listed
    without a word, a follower of only that country heard neither "detected" nor "resolved"
    of an outage whose page named it."""
    joined = [c for c in outage.countries if c not in listed]
    for country in joined:
        share = 100 * tally.countries.get(country, 0) / max(tally.total, 1)
        OutageEvent.objects.create(
            outage=outage,
            at=view.now,
            kind=OutageEvent.Kind.COUNTRY,
            country=country,
            message=f"{country}: {share:.0f}% of the outage's reports so far.",
        )
    if joined:
        alerts_notify(outage=outage, change="country")


def _refresh(
    outage: Outage,
    in_outage: list[int],
    view: TickView,
    tally: Tally,
    *,
    end: dt.datetime | None = None,
) -> None:
    """Refresh the score, counts, countries and top problems while the outage runs (in
    memory: outages_apply saves them; its peak is _peak_update's); ``end``: it resolves this
    minute, ending there."""
    scores = view.result.scores
    for i in in_outage:
        outage.score = max(outage.score, float(scores.score[i]))
    tally_apply(
        outage,
        tally,
        backed=lambda countries: _countries_backed(
            outage.service_id, countries, outage.started_at, end or view.minute
        ),
    )
    outage.explanation = _explanation(outage, tally.countries, tally.total, end=end)


def tally_apply(
    outage: Outage, tally: Tally, *, backed: Callable[[list[str]], set[str]] | None = None
) -> None:
    """An outage's figures from its counts (in memory): its top problems, its total, and its
    countries, those listed and any sending COUNTRY_SHARE of its reports, most first.
    backed: which of the countries not listed yet that send that share have the networks
    behind them to be listed (None: all).

    Its top problems are the most reported of those with the sites behind them (the tally's
    problems_backed): one host's four sites put "Website (4)" on a real outage, its page and
    its followers' emails (abuse tester)."""
    countries, total = tally.countries, tally.total
    problems = [
        (slug, n) for slug, n in tally.problems.most_common() if slug in tally.problems_backed
    ]
    outage.top_problems = [{"problem": slug, "count": n} for slug, n in problems[:TOP_PROBLEMS]]
    standing_out = [c for c, n in countries.most_common() if total and n >= COUNTRY_SHARE * total]
    new = [c for c in standing_out if c not in outage.countries]
    if new and backed is not None:
        kept = backed(new)
        standing_out = [c for c in standing_out if c not in new or c in kept]
    outage.countries = sorted(
        set(outage.countries) | set(standing_out), key=lambda c: (-countries.get(c, 0), c)
    )
    outage.total_reports = total


def _peak_update(
    outage: Outage, overall: int | None, view: TickView, *, until: dt.datetime | None = None
) -> None:
    """The outage's peak: the minute of the service's overall series with the most counted
    reports while the outage runs, whichever of its series fired, with its normal then
    (TickResult.normal, as the chart draws it). Taken only while the overall series was
    itself in outage, an outage opened by countries alone told its followers "At the peak: no
    reports in the last minute" while 37 a minute came in (cross-surface tester,
    forty-seventh session); taken by excess, a minute with more reports but a higher
    expectation was not it, and the page said "At the peak: 18 a minute" under a chart whose
    highest minute was 19 (regression tester).

    Only minutes its total counts: those before ``until`` (the end of its last elevated
    minute, where quiet minutes pause its counts: tallies_trimmed; by default up to the judged
    minute). A cold start's level catches up with its outage, whose later minutes then count
    as quiet: its peak moved to one of them, 59 a minute beside "213 reports so far" that
    stopped before it (regression tester F3). Should the outage heat up again, those minutes
    are its own again, and the window's are read again, as are those between its start and
    its detection (an outage opened by a long sum: its chart shows them within it)."""
    if overall is None:
        return
    until = until or view.minute + dt.timedelta(minutes=1)
    counts = view.observed[overall : overall + 1] if view.window is None else view.window[overall]
    width = len(counts)
    first = view.minute - dt.timedelta(minutes=width - 1)
    skip = max(int((max(outage.started_at, first) - first).total_seconds() // 60), 0)
    stop = min(int((until - first).total_seconds() // 60), width)
    if stop <= skip:
        return
    j = skip + int(np.argmax(counts[skip:stop]))
    if outage.peak_at is not None and counts[j] <= outage.peak_observed:
        return
    outage.peak_observed = float(counts[j])
    outage.peak_at = first + dt.timedelta(minutes=j)
    if j == width - 1:
        outage.peak_expected = float(view.result.normal[overall])
    else:
        judged = float(view.result.window_expected[overall, j])
        outage.peak_expected = _normal_then(outage, outage.peak_at, judged)


def _normal_then(outage: Outage, minute: dt.datetime, judged: float) -> float:
    """The normal of an earlier minute of the service's overall series: the stored baseline
    at it, as the chart draws it (the core's normal is the judged minute's only). A series
    with no history has none: the expectation it was judged against (``judged``), which the
    words do not call normal, as TickResult.normal does."""
    row = SeriesBaseline.objects.filter(service_id=outage.service_id, country=OVERALL).first()
    baseline = None if row is None else row.baseline()
    if baseline is None or baseline.is_cold:
        return judged
    return float(baseline.expected(np.array([to_epoch_minute(minute)]))[0])


def _elevated_until(idx: list[int], view: TickView) -> dt.datetime | None:
    """The end of the newest minute at which one of a service's series (idx) was elevated
    (None: none known)."""
    last_hot = view.result.transition.state.last_hot[idx].max()
    return from_epoch_minute(int(last_hot) + 1) if last_hot >= 0 else None


def _end(outage: Outage, idx: list[int], view: TickView) -> dt.datetime:
    """Where a resolving outage ended: after its last elevated minute, not at the quiet
    minutes that confirmed it."""
    return max(_elevated_until(idx, view) or view.minute, outage.started_at)


def _resolve(outage: Outage, end: dt.datetime, view: TickView) -> None:
    outage.status = Outage.Status.RESOLVED
    outage.resolved_at = end
    outage.save(update_fields=["status", "resolved_at", "updated_at"])
    quiet = detector_config().state.quiet_minutes
    # Shown at the end it declares (the API's and the page's final entry), not at `at`.
    message = (
        f"Ended {end:%H:%M} UTC, after the last minute with excess reports; confirmed by "
        f"{quiet} quiet minutes after it."
    )
    _event(outage, OutageEvent.Kind.RESOLVED, view, None, message, since=end)
    alerts_notify(outage=outage, change="resolved")


def _event(
    outage: Outage,
    kind: str,
    view: TickView,
    i: int | None,
    message: str,
    *,
    since: dt.datetime | None = None,
) -> None:
    OutageEvent.objects.create(
        outage=outage,
        at=view.now,
        kind=kind,
        country=view.keys[i][1] if i is not None else "",
        observed=float(view.observed[i]) if i is not None else None,
        # The minute's normal, as the outage's page says it ("where about 3 are normal").
        expected=float(view.result.normal[i]) if i is not None else None,
        message=message[:300],
        # An entry quoting a minute's counts names that minute: after a backlog the tick
        # judges minutes long closed, and "now" dated their evidence (chaos tester).
        since=since if since is not None or i is None else view.minute,
    )


# Phase codes (detection.core.phase) of a series judged at its fitted pattern shifted by an
# hour: read an hour earlier (PHASE_MINUS) means the day now happens an hour later in UTC.
_SHIFTED = {PHASE_MINUS: "later", PHASE_PLUS: "earlier"}


def _verdict(view: TickView, i: int) -> str:
    s = view.result.scores
    window = int(s.window[i])
    span = "the last minute" if window == 1 else f"the last {window} minutes"
    # A long sum is judged at the level from before it began (level.window_factors): say so,
    # or a reader compares it with the expectation shown for the current minute.
    lag = detector_config().level.level_lag_min_window
    before = " at the level before them" if window >= lag else ""
    verdict = (
        f"{s.observed[i]:.0f} reports in {span} vs {figure_text(s.expected[i])} expected{before}, "
        f"from at least {s.networks[i]:.0f} different networks "
        f"(p = {s.p_value[i]:.1e}, rule {s.rule[i]})."
    )
    shifted = _SHIFTED.get(int(view.result.transition.state.phase[i]))
    if shifted:
        # Otherwise "expected" looks wrong to anyone comparing it with this hour last week.
        verdict += (
            f" The daily pattern runs an hour {shifted} than in the fitted history"
            " (a clock change)."
        )
    return verdict


def _explanation(
    outage: Outage, countries: Counter, total: int, *, end: dt.datetime | None = None
) -> str:
    networks = "network" if outage.networks == 1 else "networks"
    # Once over, its span: "since" read as still going on every page that quotes it.
    span = (
        f"from {outage.started_at:%H:%M} to {end:%H:%M}"
        if end
        else (f"since {outage.started_at:%H:%M}")
    )
    parts = [
        f"{total} counted reports from {outage.networks} {networks} {span} UTC.",
        f"Peak {outage.peak_observed:.0f} reports a minute vs {figure_text(outage.peak_expected)}"
        " expected"
        # The rule that opened it and the highest score since, which another rule may have
        # given: said apart, or the two read as one verdict's.
        f" (opened on rule {outage.rule}, highest score {outage.score:.2f}).",
    ]
    if outage.countries:
        shares = ", ".join(
            f"{c} {100 * countries.get(c, 0) / max(total, 1):.0f}%" for c in outage.countries[:5]
        )
        parts.append(f"Most reports from {shares}.")
    if outage.top_problems:
        names = ", ".join(f"{p['problem']} ({p['count']})" for p in outage.top_problems)
        parts.append(f"Top problems: {names}.")
    return " ".join(parts)


def statuses_save(*, view: TickView) -> None:
    """Rewrite every ticked service's status: problems / possible problems / no problems.

    Per service, in numpy over the tick's rows, then one upsert (no model instances).
    """
    if not view.keys:
        return
    tr = view.result.transition
    scores = view.result.scores
    previous = {
        sid: (level, since)
        for sid, level, since in ServiceStatus.objects.values_list("service_id", "level", "since")
    }
    active = {
        sid: (outage_id, countries)
        for sid, outage_id, countries in Outage.objects.filter(
            status=Outage.Status.ACTIVE
        ).values_list("service_id", "id", "countries")
    }
    sids = np.fromiter((sid for sid, _ in view.keys), np.int64, len(view.keys))
    services, first, group = np.unique(sids, return_index=True, return_inverse=True)
    # The overall series speaks for its service (the first of its rows if it has none).
    speaker = first.copy()
    overall = np.fromiter((c == OVERALL for _, c in view.keys), bool, len(view.keys))
    speaker[group[overall]] = np.flatnonzero(overall)
    possible = tr.state.state >= STATE_POSSIBLE
    any_possible = np.bincount(group, weights=possible, minlength=len(services)) > 0
    top = np.full(len(services), -np.inf)
    np.maximum.at(top, group, scores.score)
    listed: dict[int, list[str]] = defaultdict(list)
    # Most reported first, as an outage's are: they are said as "Most reports come from ..."
    # (they came in alphabetical order: "Germany and the United States" for a rise that
    # was two thirds American; words tester F3).
    for i in sorted(
        np.flatnonzero(possible & ~overall), key=lambda i: (-view.observed[i], view.keys[i][1])
    ):
        listed[int(sids[i])].append(view.keys[i][1])
    columns: dict[str, list] = defaultdict(list)
    for g, sid in enumerate(services.tolist()):
        level = (
            SeriesState.Level.PROBLEMS
            if sid in active
            else SeriesState.Level.POSSIBLE
            if any_possible[g]
            else SeriesState.Level.OK
        )
        before = previous.get(sid)
        i = speaker[g]
        columns["service_id"].append(sid)
        columns["level"].append(int(level))
        columns["since"].append(before[1] if before and before[0] == level else view.minute)
        columns["observed"].append(float(view.observed[i]))
        # Said as "where about 6 are normal": the minute's normal, as the chart draws it.
        columns["expected"].append(float(view.result.normal[i]))
        columns["score"].append(float(top[g]))
        columns["rule"].append(str(scores.rule[i]))
        # An outage's countries come most-reported first; say them in that order.
        columns["countries"].append(active[sid][1] if sid in active else listed[sid])
        columns["outage_id"].append(active[sid][0] if sid in active else None)
    upsert(ServiceStatus, columns, unique=["service_id"], constant={"updated_at": view.now})
