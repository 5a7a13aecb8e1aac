"""The stored detector memory (detection.services.states) is the core's record, exactly."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from detection.core import BaselineBatch, DetectorConfig, DetectorState, run_tick
from detection.core.calibration import ROW
from detection.services.states import (
    Layout,
    blob_of_record,
    layout_of,
    record_of,
    states_decode,
    states_encode,
)


def warmed(n: int, seed: int = 3, ticks: int = 4) -> DetectorState:
    """States after a few ticks over random series: every field holds something."""
    rng = np.random.default_rng(seed)
    config = DetectorConfig()
    shape = 1 + 0.5 * np.sin(np.linspace(0, 14 * np.pi, 672))
    batch = BaselineBatch(
        profiles=rng.uniform(0.05, 20, n)[:, None] * shape[None, :],
        dispersion=rng.uniform(0, 0.2, n),
        level_dispersion=rng.uniform(0, 0.02, n),
        fitted_at=np.full(n, 29_000_000),
        growth_per_day=np.zeros(n),
        cold=rng.random(n) < 0.2,
        max_extrapolation_days=np.full(n, 2.0),
        phase_moved=np.zeros(n, dtype=bool),
    )
    state = DetectorState.initial(n)
    for k in range(ticks):
        minute = 29_000_500 + k
        window = minute - np.arange(59, -1, -1)
        expected = batch.expected(np.arange(n), np.broadcast_to(window, (n, 60)))
        observed = rng.poisson(expected * rng.uniform(0.5, 4, (n, 1))).astype(float)
        state = run_tick(batch, state, observed, minute, config).transition.state
    return state


def assert_same(a: DetectorState, b: DetectorState) -> None:
    for f in fields(DetectorState):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_stored_states_decode_to_what_from_records_makes_of_their_records():
    state = warmed(50)
    blobs = states_encode(state)
    # Series never ticked (no row) among them, as in every tick that admits a new series.
    stored = [None if i % 7 == 0 else blob for i, blob in enumerate(blobs)]
    records = [None if i % 7 == 0 else r for i, r in enumerate(state.to_records())]
    assert np.isnan(state.level_history).any()  # NaN survives too
    assert_same(states_decode(stored), DetectorState.from_records(records))
    # Every series stored (the tick's usual case) decodes without a fresh state to fill in.
    assert_same(states_decode(blobs), DetectorState.from_records(state.to_records()))
    assert_same(states_decode([bytes(blob) for blob in blobs]), state)


def test_each_stored_value_holds_the_record_the_core_writes():
    state = warmed(8)
    for blob, record in zip(states_encode(state), state.to_records(), strict=True):
        assert record_of(blob) == record
        assert blob_of_record(record) == blob


def test_nothing_stored_is_a_fresh_state():
    assert_same(states_decode([None, None]), DetectorState.initial(2))
    assert record_of(blob_of_record({})) == DetectorState.initial(1).to_records()[0]


def test_the_layout_names_every_field_of_the_state():
    layout = Layout.parse(layout_of(warmed(2)).header)
    assert [name for name, _, _ in layout.fields] == [f.name for f in fields(DetectorState)]
    assert dict((n, w) for n, _, w in layout.fields)["calibration"] == ROW


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: {k: v for k, v in r.items() if k != "calibration"}, id="no-field"),
        pytest.param(lambda r: {**r, "calibration": [1.0] * 8}, id="old-calibration-width"),
        pytest.param(lambda r: {**r, "level_history": r["level_history"][:5]}, id="short-history"),
    ],
)
def test_rows_of_another_layout_follow_the_cores_rules_for_old_records(change):
    """A row written before a field existed or with another width decodes as from_records
    reads its record, also mixed with rows of the current layout."""
    state = warmed(6)
    records = state.to_records()
    old = change(records[2])
    blobs = states_encode(state)
    blobs[2] = blob_of_record(old)  # stored then: its layout is the one it was written in
    expected = DetectorState.from_records([*records[:2], old, *records[3:]])
    assert_same(states_decode(blobs), expected)
