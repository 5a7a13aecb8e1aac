"""The tick runs the core once per chunk of kept baselines: the same result, bit for bit, as
one run over one batch (detection.services.batches)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from django.db import connection

from detection.baseline_record import (
    EARLIER_PROFILE_DTYPE,
    PROFILE_DTYPE,
    params_digest,
    profile_bytes,
)
from detection.core import UNKNOWN_OFFSET, BaselineBatch, DetectorConfig, TickResult, run_tick
from detection.core.baseline import OPTIONAL
from detection.models import OVERALL, SeriesBaseline
from detection.services import batches
from detection.services.batches import BaselineCache, _Part, tick_run
from detection.services.timeutil import to_epoch_minute
from tests.detection.conftest import stored_compression
from tests.detection.test_states_codec import warmed

CONFIG = DetectorConfig()
OPTIONAL_AND_LEVEL = {*OPTIONAL, "level_dispersion"}
MINUTE = 29_000_504  # the end of a phase block: every path of the core runs


def batch_of(n: int, seed: int) -> BaselineBatch:
    rng = np.random.default_rng(seed)
    shape = 1 + 0.5 * np.sin(np.linspace(0, 14 * np.pi, 672))
    return BaselineBatch(
        profiles=rng.uniform(0.05, 20, n)[:, None] * shape[None, :],
        dispersion=rng.uniform(0, 0.2, n),
        level_dispersion=rng.uniform(0, 0.02, n),
        fitted_at=np.full(n, 29_000_000),
        growth_per_day=rng.normal(0, 0.01, n),
        cold=rng.random(n) < 0.2,
        max_extrapolation_days=np.full(n, 2.0),
        phase_moved=rng.random(n) < 0.1,
    )


def rows_of(batch: BaselineBatch, idx) -> BaselineBatch:
    return batches._stack([(batch, int(i)) for i in idx])


def assert_same(a, b, path="result") -> None:
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype.kind == b.dtype.kind and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path


def observed_for(batch: BaselineBatch, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(batch)
    window = MINUTE - np.arange(59, -1, -1)
    expected = batch.expected(np.arange(n), np.broadcast_to(window, (n, 60)))
    return rng.poisson(expected * rng.uniform(0.3, 5, (n, 1))).astype(float)


@pytest.mark.parametrize("clocks", [False, True])
def test_the_core_over_parts_is_the_core_over_the_whole(clocks):
    n = 60
    whole = batch_of(n, 1)
    offsets = None
    if clocks:  # half the series know their clock, which moved an hour for some
        rng = np.random.default_rng(6)
        fitted = np.where(rng.random(n) < 0.5, 60, UNKNOWN_OFFSET)
        whole = dataclasses.replace(whole, utc_offset=fitted)
        offsets = np.where(fitted == UNKNOWN_OFFSET, fitted, rng.choice([0, 60, 120], n))
    state = warmed(n, seed=2)
    observed = observed_for(whole, 3)
    expected = run_tick(whole, state, observed, MINUTE, CONFIG, utc_offset=offsets)
    order = np.random.default_rng(4).permutation(n - 10)
    a, b, c = order[:25], order[25:], np.arange(n - 10, n)
    # Part one holds rows of series the tick does not judge (they run along, then are dropped).
    spare = batch_of(5, 9)
    part_one = batches._stack([*[(whole, int(i)) for i in a], *[(spare, r) for r in range(5)]])
    parts = [
        _Part(part_one, np.arange(len(a)), a),
        _Part(rows_of(whole, b[::-1]), np.arange(len(b))[::-1], b),
        # Consecutive series, every row in order: judged on views of the tick's rows.
        _Part(rows_of(whole, c), np.arange(len(c)), c),
    ]
    assert [batches._span(p) for p in parts] == [None, None, slice(n - 10, n)]
    got = tick_run(parts, state, observed, MINUTE, CONFIG, offsets)
    assert isinstance(got, TickResult)
    if clocks:  # the clock's phase is in force where known: all three offsets are read
        known = offsets != UNKNOWN_OFFSET
        assert set(got.transition.state.phase[known].tolist()) == {1, 2, 3}
    assert_same(got, expected)


@pytest.mark.django_db
def test_kept_baselines_give_the_tick_a_fresh_read_would(make_service, monkeypatch):
    """Chunks come and go (small ones here): refits, new series, series that leave."""
    monkeypatch.setattr(batches, "CHUNK", 4)
    monkeypatch.setattr(batches, "SMALL", 2)
    monkeypatch.setattr(batches, "MAX_SMALL", 1)
    from detection.core import Baseline

    services = [make_service(f"svc-{k}") for k in range(5)]
    countries = [OVERALL, "DE", "FR"]
    rng = np.random.default_rng(5)

    def fit(service, country) -> None:
        level = rng.uniform(0.1, 10)
        baseline = Baseline(
            profile=np.full(672, level), dispersion=0.1, fitted_at=29_000_000,
            history_minutes=20_000, method="hgb",
        )  # fmt: skip
        SeriesBaseline.objects.update_or_create(
            service=service,
            country=country,
            defaults={"params": baseline.to_dict(), "method": "hgb", "fitted_at": now},
        )

    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    keys = [(s.pk, c) for s in services for c in countries]
    for s in services[:4]:
        for c in countries:
            fit(s, c)
    kept = BaselineCache()
    reused = []
    for step in range(10):
        minute = now + dt.timedelta(minutes=step)
        last = kept.last
        if step == 2:  # refits of some series, a first baseline for another
            fit(services[0], "DE")
            fit(services[4], OVERALL)
        if step == 3:  # a series leaves the tick, its baseline stays
            keys = [k for k in keys if k != (services[1].pk, "FR")]
        if step == 4:  # one baseline is deleted (its service's series go on, on the prior)
            SeriesBaseline.objects.filter(service=services[2], country=OVERALL).delete()
        if step == 5:
            keys = [*keys, (services[1].pk, "FR")]  # a new list: parts() keeps the one given
        if step == 7:  # a refit alone: the same row, a new digest
            fit(services[0], "FR")
        if step == 8:  # params changed around save(): no digest, so read every minute
            fit(services[3], "FR")
            changed = SeriesBaseline.objects.get(service=services[3], country="FR")
            changed.params["dispersion"] = 0.3
            SeriesBaseline.objects.filter(pk=changed.pk).update(params=changed.params, digest="")
        n = len(keys)
        state = warmed(n, seed=step)
        observed = np.random.default_rng(step).poisson(2.0, (n, 60)).astype(float)
        at = to_epoch_minute(minute)
        got = tick_run(kept.parts(keys, minute, CONFIG), state, observed, at, CONFIG)
        fresh = tick_run(BaselineCache().parts(keys, minute, CONFIG), state, observed, at, CONFIG)
        assert_same(got, fresh)
        assert len(kept.chunks) > 1
        reused.append(kept.last is last)
    # PostgreSQL: a minute where no stored baseline changed reuses the last answer; a row
    # without its digest is never trusted to be unchanged.
    if connection.vendor == "postgresql":
        assert reused == [False, True, False, False, False, False, True, False, False, False]


@pytest.mark.django_db
def test_stored_baselines_read_back_exactly(make_service):
    """The stored profile bytes (or, without them, the database's parse of the JSON) give
    the same floats json would make."""
    from detection.core import Baseline

    service = make_service("exact")
    rng = np.random.default_rng(11)
    profile = np.concatenate(
        [rng.lognormal(0, 3, 600), [0.0, 1e-06, 123456.789012, 0.1, 2.5e-05], rng.random(67)]
    )
    baseline = Baseline(
        profile=profile, dispersion=0.123, level_dispersion=0.01, fitted_at=29_000_000,
        history_minutes=40_000, method="hgb", growth_per_day=0.003, phase_moved=True,
    )  # fmt: skip
    row = SeriesBaseline.objects.create(
        service=service,
        country="DE",
        params=baseline.to_dict(),
        method="hgb",
        fitted_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    )
    row.refresh_from_db()
    # Stored once: the bytes hold the profile, the JSON the rest; the digest is the record's.
    record = baseline.to_dict()
    assert "profile" not in row.params and bytes(row.profile) == profile_bytes(record)
    assert row.digest == params_digest(record) and row.record() == record
    # A row written around save() has the whole record as JSON and no bytes: its profile comes
    # from the JSON, the same.
    bare = SeriesBaseline.objects.create(
        service=service, country="FR", params=record, method="hgb", fitted_at=row.fitted_at
    )
    SeriesBaseline.objects.filter(pk=bare.pk).update(profile=None, params=record)
    # A record from before the optional parameters existed: they read as their defaults.
    old_params = {k: v for k, v in record.items() if k not in OPTIONAL_AND_LEVEL}
    old = SeriesBaseline.objects.create(
        service=service, country="IT", params=old_params, method="hgb", fitted_at=row.fitted_at
    )
    # A row written before profiles were single precision holds float64 bytes: read the same.
    earlier = SeriesBaseline.objects.create(
        service=service, country="ES", params=record, method="hgb", fitted_at=row.fitted_at
    )
    earlier_bytes = np.asarray(record["profile"], EARLIER_PROFILE_DTYPE).tobytes()
    SeriesBaseline.objects.filter(pk=earlier.pk).update(profile=earlier_bytes)
    earlier.refresh_from_db()
    assert len(earlier.profile) == 2 * len(row.profile) and earlier.record() == record
    # The tick's bulk read gives the batch that the baselines one by one would.
    ids = [old.pk, row.pk, bare.pk, earlier.pk]
    each = [SeriesBaseline.objects.get(pk=pk).baseline() for pk in ids]
    want = BaselineBatch.from_baselines(each, CONFIG)
    assert_same_batch(batches.baselines_batch(ids, CONFIG), want)
    assert want.level_dispersion[0] == want.dispersion[0] and want.utc_offset[0] == UNKNOWN_OFFSET


def assert_same_batch(got: BaselineBatch, want: BaselineBatch) -> None:
    for f in dataclasses.fields(BaselineBatch):
        if not f.init:  # derived from the fields compared
            continue
        np.testing.assert_array_equal(getattr(got, f.name), getattr(want, f.name), f.name)
        assert np.asarray(getattr(got, f.name)).dtype == np.asarray(getattr(want, f.name)).dtype


@pytest.mark.django_db
def test_baselines_of_the_current_layout_are_read_in_one_copy(make_service, monkeypatch):
    """PostgreSQL reads rows whose profiles are of the current layout through one binary COPY
    (the database filling in the parameters an older record lacks); a row it cannot take
    that way (an unknown method here) sends the whole read the rows' way, which says why."""
    from detection.core import Baseline

    service = make_service("copied")
    rng = np.random.default_rng(5)
    rows = []
    for k, (country, method) in enumerate((("", "hgb"), ("DE", "prior"), ("FR", "mean"))):
        record = Baseline(
            profile=rng.lognormal(0, 2, 672), dispersion=0.1 + k, level_dispersion=0.01 * k,
            fitted_at=29_000_000 + k, history_minutes=40_000, method=method,
            growth_per_day=0.002 * k, phase_moved=bool(k % 2), utc_offset=60 * k,
        ).to_dict()  # fmt: skip
        if k == 2:  # from before the optional parameters existed
            record = {key: v for key, v in record.items() if key not in OPTIONAL_AND_LEVEL}
        rows.append(
            SeriesBaseline.objects.create(
                service=service,
                country=country,
                params=record,
                method=method,
                fitted_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
            )
        )
    copied = []
    real = batches._batch_copied
    monkeypatch.setattr(
        batches, "_batch_copied", lambda ids, config: copied.append(real(ids, config)) or copied[-1]
    )
    ids = [rows[2].pk, rows[0].pk, rows[1].pk]
    want = BaselineBatch.from_baselines(
        [SeriesBaseline.objects.get(pk=pk).baseline() for pk in ids], CONFIG
    )
    assert_same_batch(batches.baselines_batch(ids, CONFIG), want)
    assert want.cold.tolist() == [False, False, True] and want.utc_offset[0] == UNKNOWN_OFFSET
    if connection.vendor == "postgresql":
        assert copied and copied[-1] is not None
    params = {**rows[0].params, "method": "nonesuch"}
    SeriesBaseline.objects.filter(pk=rows[0].pk).update(params=params)
    with pytest.raises(ValueError, match="unknown method 'nonesuch'"):
        batches.baselines_batch(ids, CONFIG)
    if connection.vendor == "postgresql":
        assert copied[-1] is None


def test_the_stored_layout_is_the_cores_precision():
    """baseline_record restates the core's profile layout (so loading the models does not
    load the core): the two agree, and a profile of neither stored size is refused."""
    from detection.baseline_record import PROFILE_SLOTS, profile_layout
    from detection.core.baseline import PROFILE_FLOAT
    from detection.core.timegrid import SLOTS_PER_WEEK

    assert np.dtype(PROFILE_FLOAT).newbyteorder(">") == PROFILE_DTYPE
    assert PROFILE_SLOTS == SLOTS_PER_WEEK
    assert profile_layout(SLOTS_PER_WEEK * 4) == PROFILE_DTYPE
    assert profile_layout(SLOTS_PER_WEEK * 8) == EARLIER_PROFILE_DTYPE
    with pytest.raises(ValueError, match="a stored profile of 100 bytes"):
        profile_layout(100)


@pytest.mark.django_db
def test_a_stored_profile_is_compressed_with_lz4(make_service):
    """PostgreSQL: a profile (2.7 kB; its row is over the size at which PostgreSQL
    compresses) is stored with lz4 where the server has it; pglz took most of a cold read of
    every profile."""
    if connection.vendor != "postgresql":
        pytest.skip("storage settings of PostgreSQL")
    from detection.core import prior_baseline

    record = prior_baseline(29_000_000).to_dict()
    record["profile"] = np.tile(np.linspace(1.0, 5.0, 96), 7).tolist()  # a day's curve, weekly
    row = SeriesBaseline.objects.create(
        service=make_service("packed"),
        country="DE",
        params=record,
        method=record["method"],
        fitted_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    )
    method, expected = stored_compression(SeriesBaseline, "profile", row.pk)
    assert method == expected


@pytest.mark.django_db
def test_a_primed_process_gives_its_next_tick_the_baselines(make_service, monkeypatch):
    """tick_prime (the detector's first task) stacks the stored baselines of the series the
    next tick judges, and works out their clocks; that tick then reads none of them again."""
    from detection.core import Baseline
    from detection.services import tick

    now = dt.datetime(2026, 11, 23, 12, 0, 30, tzinfo=dt.UTC)
    keys = [(make_service(f"primed-{k}").pk, country) for k in range(3) for country in ("", "DE")]
    for k, (sid, country) in enumerate(keys):
        baseline = Baseline(
            profile=np.full(672, 1.0 + k), dispersion=0.1, fitted_at=29_000_000,
            history_minutes=20_000, method="hgb",
        )  # fmt: skip
        SeriesBaseline.objects.create(
            service_id=sid, country=country, params=baseline.to_dict(), method="hgb",
            fitted_at=now,
        )  # fmt: skip
    asked = []
    monkeypatch.setattr(tick, "series_active", lambda now: asked.append(now) or list(keys))
    batches.baseline_cache().clear()
    read = []
    real = batches.baselines_batch
    monkeypatch.setattr(batches, "baselines_batch", lambda ids, c: read.append(ids) or real(ids, c))

    from detection.core import clock

    clock._zone_year.cache_clear()
    assert tick.tick_prime(now=now) == len(keys)
    assert asked == [now.replace(second=0)]  # the minute the next tick judges
    # The series' clocks are worked out too (the first lookup of a zone's year is slow).
    assert clock._zone_year.cache_info().currsize > 0
    assert sorted(i for ids in read for i in ids) == sorted(
        SeriesBaseline.objects.values_list("id", flat=True)
    )
    read.clear()
    parts = batches.baseline_cache().parts(list(keys), now.replace(second=0), CONFIG)
    assert read == []
    assert sorted(i for part in parts for i in part.series.tolist()) == list(range(len(keys)))
    batches.baseline_cache().clear()
