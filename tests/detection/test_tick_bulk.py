"""The tick's bulk paths on the real database (SQLite and PostgreSQL alike): states written in
one upsert and read back identically, this process's copy of them, the kept baselines,
statuses upserted, and an outage opened exactly once when a minute is judged again."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import numpy as np
import pytest
from django.conf import settings

from detection.core import DetectorState
from detection.models import (
    OVERALL,
    Bucket,
    JobCursor,
    Outage,
    OutageEvent,
    SeriesBaseline,
    SeriesState,
    ServiceStatus,
)
from detection.services import batches, buckets_aggregate, detect_tick, tick
from detection.services.baselines import baseline_fit
from detection.services.series import counts_matrix
from detection.services.states import states_decode
from tests.detection.conftest import T0, stored_compression

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def minute_run(send_reports, service, k: int, *, extra: int = 0, capture=None) -> list:
    minute = T0 + k * M
    send_reports(service, minute, 2, country="DE")
    if extra:
        send_reports(service, minute, extra, country="DE", problem="app")
    now = minute + M + dt.timedelta(seconds=2)
    if capture is None:
        buckets_aggregate(now=now)
        return detect_tick(now=now)
    # Callbacks run as after a commit: the tick keeps its copy of the states it wrote.
    with capture(execute=True):
        buckets_aggregate(now=now)
        return detect_tick(now=now)


@pytest.fixture
def results(monkeypatch):
    """Every tick's keys and core result, as the tick computed them."""
    seen: list = []
    real = tick.tick_run

    def spy(parts, state, observed, minute, config, *args):
        result = real(parts, state, observed, minute, config, *args)
        seen.append((state, result))
        return result

    monkeypatch.setattr(tick, "tick_run", spy)
    return seen


@pytest.fixture
def state_sources(monkeypatch):
    """Where each tick's states came from ("memory", "database"); each read is checked to be
    what decoding the stored rows gives."""
    sources = []
    real = tick.states_load

    def load(keys, *, kept):
        state, source = real(keys, kept=kept)
        assert_same_state(state, stored(keys))
        sources.append(source)
        return state, source

    monkeypatch.setattr(tick, "states_load", load)
    return sources


@pytest.fixture
def window_reads(monkeypatch):
    """(windows, spans): the window of counts each tick judged, and the minutes of buckets
    each read of the window asked for."""
    from detection.services import series

    observed, spans = [], []
    real_run, real_window = tick.tick_run, series.buckets_window

    def run(parts, state, window, minute, config, *args):
        observed.append(window.copy())
        return real_run(parts, state, window, minute, config, *args)

    def buckets_window(*, first, minutes):
        spans.append(minutes)
        return real_window(first=first, minutes=minutes)

    monkeypatch.setattr(tick, "tick_run", run)
    monkeypatch.setattr(series, "buckets_window", buckets_window)
    return observed, spans


def assert_same_state(a: DetectorState, b: DetectorState) -> None:
    for f in fields(DetectorState):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


def stored(keys) -> DetectorState:
    rows = {(r.service_id, r.country): bytes(r.memory) for r in SeriesState.objects.all()}
    return states_decode([rows.get(key) for key in keys])


def test_states_and_verdicts_written_in_one_upsert_read_back_identically(
    history, send_reports, results
):
    for k in range(3):
        minute_run(send_reports, history, k)
    _, result = results[-1]
    keys = sorted((r.service_id, r.country) for r in SeriesState.objects.all())
    assert (history.pk, OVERALL) in keys and (history.pk, "DE") in keys
    assert_same_state(stored(keys), result.transition.state)
    rows = {(r.service_id, r.country): r for r in SeriesState.objects.all()}
    for i, key in enumerate(keys):
        row = rows[key]
        assert row.minute == T0 + 2 * M
        assert row.state == result.transition.state.state[i]
        assert row.level == result.scores.level[i]
        assert row.expected == result.normal[i] and row.score == result.scores.score[i]
        assert row.rule == result.scores.rule[i]


def test_this_process_copy_of_the_states_is_what_the_database_holds(
    history, send_reports, results, django_capture_on_commit_callbacks, state_sources
):
    """After its own commit the tick reads its copy instead of the rows: always the same."""
    sources = state_sources
    for k in range(4):
        minute_run(send_reports, history, k, capture=django_capture_on_commit_callbacks)
    # Another tick ran in between (here: the cursor moved by hand): the copy is not used.
    cursor = JobCursor.objects.get(name="tick")
    JobCursor.objects.filter(name="tick").update(updated_at=cursor.updated_at + M)
    minute_run(send_reports, history, 4, capture=django_capture_on_commit_callbacks)
    assert sources == ["database", "memory", "memory", "memory", "database"]


def test_the_copy_serves_a_changed_set_of_series_exactly_as_the_rows_would(
    history, send_reports, make_service, django_capture_on_commit_callbacks
):
    """Series that come and go between ticks: the copy's rows are taken, the new ones read,
    and the whole is what decoding every stored row gives, also when a new row's history is
    of another width (then it goes the way of the bytes)."""
    from detection.services import lasttick, states

    for k in range(3):
        minute_run(send_reports, history, k, capture=django_capture_on_commit_callbacks)
    last = lasttick.last_tick(
        JobCursor.objects.filter(name="tick").values_list("position", "updated_at").get()
    )
    everyone = list(last.keys)
    width = last.state.level_history.shape[1]
    kept = [(history.pk, OVERALL), (history.pk, "DE")]
    assert set(kept) <= set(everyone) and width > 0
    other = make_service("other", "Other")
    record = states.record_of(SeriesState.objects.get(service=history, country="DE").memory)
    for country, history_width in (("FR", width), ("IT", 0), ("ES", width + 2)):
        blob = states.blob_of_record(
            {**record, "level_history": [1.5] * history_width, "hot_ticks": 3}
        )
        SeriesState.objects.create(service=other, country=country, minute=T0, memory=blob)
    for keys, source in (
        (last.keys, "memory"),  # the same list, as the tick hands it over
        (everyone, "memory"),  # an equal one
        (kept, "memory"),  # most dropped
        ([kept[1], (other.pk, "FR"), (other.pk, "US")], "memory"),  # stored and never ticked
        ([(other.pk, "IT"), kept[0], (other.pk, "US")], "memory"),  # a stored empty history
        ([kept[0], (other.pk, "ES")], "memory"),  # another width
    ):
        state, got = states.states_load(keys, kept=last)
        assert got == source
        assert_same_state(state, stored(keys))
    assert states.states_load(kept, kept=None)[1] == "database"
    with pytest.raises(ValueError):  # the copy cannot be changed by whoever is handed it
        states.states_load(last.keys, kept=last)[0].state[0] = 1


def test_the_kept_buckets_count_what_a_fresh_read_would(
    history, send_reports, monkeypatch, django_capture_on_commit_callbacks, window_reads
):
    """Between its ticks the process keeps the window's buckets and reads again only the
    minutes the aggregation may still recount: a late report inside the late window is
    counted, and a backfill of older minutes makes it read everything again."""
    from detection.services import series

    observed, spans = window_reads
    read = []  # the minutes each tick read

    def active(*, now):  # at minute 4 the first series leaves: the others' rows move up
        keys = series.series_active(now=now)
        return keys[1:] if now == T0 + 4 * M else keys

    monkeypatch.setattr(tick, "series_active", active)
    for k in range(7):
        if k == 3:  # reports of minute 1 committed late: still inside the late window
            send_reports(history, T0 + M, 4, country="DE")
        if k == 5:  # a backfill rewrites minutes the aggregation had left for good
            send_reports(history, T0 - 20 * M, 5, country="DE")
            buckets_aggregate(now=T0 + 5 * M, since=T0 - 20 * M)
        minute_run(send_reports, history, k, capture=django_capture_on_commit_callbacks)
        read.append(spans[-1])
        minute = T0 + k * M
        keys = active(now=minute)
        fresh = counts_matrix(keys, first=minute - 59 * M, minutes=60)
        np.testing.assert_array_equal(observed[-1], fresh)
    assert read[0] == 60 and read[5] == 60  # the first tick, and the one after the backfill
    assert max(read[1:5] + read[6:]) <= settings.BUCKET_LATE_MINUTES + 2


def test_a_primed_process_judges_its_first_minute_as_the_process_that_ran_the_last(
    history,
    send_reports,
    monkeypatch,
    django_capture_on_commit_callbacks,
    window_reads,
    state_sources,
):
    """tick_prime (a restarted detector's first task) reads back the states and buckets the
    last committed tick left; the next minute then uses them as its own last tick's (reading
    only the minutes the aggregation may recount) and judges exactly as a fresh read would.
    Not when another tick ran after the prime, nor when one commits while it reads."""
    from detection.services import lasttick

    capture = django_capture_on_commit_callbacks
    observed, spans = window_reads
    sources = state_sources
    for k in range(3):
        minute_run(send_reports, history, k, capture=capture)

    def restart_and_prime(k: int) -> None:
        tick.tick_forget()  # a new process knows nothing of the last tick
        sources.clear()
        spans.clear()
        assert tick.tick_prime(now=T0 + k * M + dt.timedelta(seconds=30)) > 0

    restart_and_prime(3)
    assert sources == ["database"] and spans == [60]  # what the prime read
    minute_run(send_reports, history, 3, capture=capture)
    assert sources[-1] == "memory" and spans[-1] <= settings.BUCKET_LATE_MINUTES + 2
    keys = tick.series_active(now=T0 + 3 * M)
    np.testing.assert_array_equal(
        observed[-1], counts_matrix(keys, first=T0 + 3 * M - 59 * M, minutes=60)
    )

    restart_and_prime(4)
    cursor = JobCursor.objects.get(name="tick")  # another tick ran after the prime
    JobCursor.objects.filter(name="tick").update(updated_at=cursor.updated_at + M)
    minute_run(send_reports, history, 4, capture=capture)
    assert sources[-1] == "database" and spans[-1] == 60

    checked = tick.states_load

    def load_while_a_tick_commits(keys, *, kept):
        JobCursor.objects.filter(name="tick").update(updated_at=cursor.updated_at + 2 * M)
        return checked(keys, kept=kept)

    tick.tick_forget()
    monkeypatch.setattr(tick, "states_load", load_while_a_tick_commits)
    tick.tick_prime(now=T0 + 5 * M + dt.timedelta(seconds=30))
    assert lasttick._last is None  # what it read may be of two ticks: not kept


def test_a_tick_that_fails_writes_nothing_and_judged_again_opens_the_outage_once(
    history, send_reports, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    for k in range(6):
        minute_run(send_reports, history, k, capture=capture)
    before = {(r.service_id, r.country): bytes(r.memory) for r in SeriesState.objects.all()}

    def crash(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(tick, "statuses_save", crash)  # after outages and states were written
    with pytest.raises(RuntimeError):
        minute_run(send_reports, history, 6, extra=30, capture=capture)
    assert not Outage.objects.exists() and not OutageEvent.objects.exists()
    after = {(r.service_id, r.country): bytes(r.memory) for r in SeriesState.objects.all()}
    assert after == before
    assert JobCursor.objects.get(name="tick").position == T0 + 5 * M

    monkeypatch.undo()
    now = T0 + 7 * M + dt.timedelta(seconds=2)
    with capture(execute=True):
        done = detect_tick(now=now)
    assert [d.minute for d in done] == [T0 + 6 * M] and done[0].opened >= 1  # DE and overall
    with capture(execute=True):
        assert detect_tick(now=now) == []  # delivered twice: judged once
    outage = Outage.objects.get()
    assert outage.is_active and OutageEvent.objects.filter(kind="opened").count() == 1
    assert SeriesState.objects.get(service=history, country="DE").outage_id == outage.pk


def test_statuses_are_upserted_and_keep_their_since_while_the_level_holds(history, send_reports):
    minute_run(send_reports, history, 0)
    first = ServiceStatus.objects.get(service=history)
    assert (first.level, first.since, first.updated_at) == (0, T0, T0 + M + dt.timedelta(seconds=2))
    minute_run(send_reports, history, 1)
    again = ServiceStatus.objects.get(service=history)
    assert again.pk == first.pk and again.since == T0
    assert again.updated_at == T0 + 2 * M + dt.timedelta(seconds=2)
    assert ServiceStatus.objects.count() == len(set(SeriesState.objects.values_list("service")))
    for k in range(2, 6):
        minute_run(send_reports, history, k, extra=30 if k >= 4 else 0)
    loud = ServiceStatus.objects.get(service=history)
    assert loud.level == 2 and loud.since == T0 + 4 * M
    assert loud.outage_id == Outage.objects.get().pk and loud.countries == ["DE"]


def test_kept_baselines_follow_a_refit(history, send_reports, results):
    """The tick keeps baselines between minutes; a refit (new digest) is picked up at once."""
    minute_run(send_reports, history, 0)
    row = SeriesBaseline.objects.get(service=history, country=OVERALL)
    digest = row.digest
    assert digest
    # A refit on other history: more reports than before.
    Bucket.objects.filter(service=history).update(counted=9)
    baseline_fit(key=(history.pk, OVERALL), until=T0)
    row.refresh_from_db()
    assert row.digest and row.digest != digest
    minute_run(send_reports, history, 1)
    fresh = batches.BaselineCache()
    with_cache = results[-1][1]
    keys = sorted((r.service_id, r.country) for r in SeriesState.objects.all())
    state, _ = results[-1]
    from detection.services.config import detector_config
    from detection.services.timeutil import to_epoch_minute

    config = detector_config()
    window = counts_matrix(keys, first=T0 + M - 59 * M, minutes=60)
    again = tick.tick_run(
        fresh.parts(keys, T0 + M, config), state, window, to_epoch_minute(T0 + M), config
    )
    assert_same_state(with_cache.transition.state, again.transition.state)
    np.testing.assert_array_equal(with_cache.expected, again.expected)


def test_counts_matrix_places_each_bucket_and_ignores_the_rest(service, make_service):
    other = make_service("other")
    first = T0
    for sid, country, minute, counted in [
        (service.pk, OVERALL, T0, 3),
        (service.pk, "DE", T0 + 2 * M, 2),
        (service.pk, "FR", T0 + M, 5),  # not a series of this tick
        (other.pk, OVERALL, T0 + M, 4),
        (service.pk, OVERALL, T0 + 3 * M, 7),  # after the window
        (service.pk, OVERALL, T0 - M, 7),  # before it
        (service.pk, "DE", T0 + M, 0),  # nothing counted
    ]:
        Bucket.objects.create(
            service_id=sid, country=country, minute=minute, reports=counted, counted=counted
        )
    keys = [(service.pk, OVERALL), (service.pk, "DE"), (other.pk, OVERALL)]
    out = counts_matrix(keys, first=first, minutes=3)
    np.testing.assert_array_equal(out, [[3, 0, 0], [0, 0, 2], [0, 4, 0]])


def test_states_are_stored_for_a_table_rewritten_every_minute(service):
    """PostgreSQL: pages half free (updates stay on their page) and the memory compressed with
    lz4 where the server has it (several times faster to write than pglz), also when it comes
    through the upsert's staging table, which would otherwise compress it with pglz first."""
    from django.db import connection

    from detection.services.bulk import upsert

    if connection.vendor != "postgresql":
        pytest.skip("storage settings of PostgreSQL")
    table = SeriesState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [table])
        assert "fillfactor=50" in cursor.fetchone()[0]
    memory = bytes(4000) + b"state" * 100  # over the size at which PostgreSQL compresses
    upsert(
        SeriesState,
        {
            "service_id": [service.id],
            "country": ["DE"],
            "memory": [memory],
            **{name: [0] for name in ("state", "level", "observed", "expected", "score")},
            "rule": [""],
        },
        unique=["service_id", "country"],
        constant={"minute": T0},
    )
    row = SeriesState.objects.get(service=service, country="DE")
    assert bytes(row.memory) == memory
    method, expected = stored_compression(SeriesState, "memory", row.pk)
    assert method == expected  # a server without lz4 keeps pglz


def test_a_read_of_every_stored_state_is_what_decoding_the_rows_gives(
    history, send_reports, make_service, monkeypatch
):
    """A starting tick reads every stored state at once (PostgreSQL: one binary COPY viewed
    as records, never a row at a time): the series in any order, some never stored, rows of
    series it does not judge; rows of another width take the way of the bytes, alike."""
    from django.db import connection

    from detection.services import states

    for k in range(3):
        minute_run(send_reports, history, k)
    keys = sorted((r.service_id, r.country) for r in SeriesState.objects.all())
    record = states.record_of(SeriesState.objects.get(service=history, country="DE").memory)
    width = len(record["level_history"])
    other = make_service("other", "Other")
    blob = states.blob_of_record({**record, "hot_ticks": 3, "level_observed": 2.5})
    SeriesState.objects.create(service=other, country="FR", minute=T0, memory=blob)
    SeriesState.objects.create(service=other, country="NL", minute=T0)  # never ticked
    decoded = []
    monkeypatch.setattr(
        states, "states_decode", lambda blobs: decoded.append(1) or states_decode(blobs)
    )
    subsets = (
        [(other.pk, "US"), (other.pk, "FR"), *reversed(keys), (other.pk, "NL")],
        keys,
        [(other.pk, "FR"), (other.pk, "US")],
        [(other.pk, "US")],
    )

    def read_each() -> None:
        for subset in subsets:
            state, source = states.states_load(subset, kept=None)
            assert source == "database"
            assert_same_state(state, stored(subset))

    read_each()
    assert decoded == ([] if connection.vendor == "postgresql" else [1] * len(subsets))
    odd = states.blob_of_record({**record, "level_history": [1.5] * (width + 2)})
    SeriesState.objects.create(service=other, country="ES", minute=T0, memory=odd)
    subsets = (*subsets, [(other.pk, "ES"), *keys])
    decoded.clear()
    read_each()
    assert decoded == [1] * len(subsets)
