"""Data migrations keep what the detector had learnt."""

from __future__ import annotations

import struct

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_state_columns_become_one_record():
    executor = MigrationExecutor(connection)
    before = [("detection", "0006_series_calibration"), ("reports", "0003_network_evidence")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    category = old.get_model("reports", "Category").objects.create(slug="c", name="C")
    service = old.get_model("reports", "Service").objects.create(
        slug="acme-m", name="Acme", category=category, website="https://acme.example"
    )
    history = struct.pack("<3d", float("nan"), 1.1, 0.9)
    old.get_model("detection", "SeriesState").objects.create(
        service=service,
        country="DE",
        minute="2026-11-30T12:00:00Z",
        state=2,
        onset=29_000_000,
        level_observed=12.5,
        phase=2,
        level_history=history,
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from detection.core import DetectorState
    from detection.models import SeriesState

    row = SeriesState.objects.get(service__slug="acme-m")
    assert row.state == 2
    assert row.core_state["onset"] == 29_000_000 and row.core_state["phase"] == 2
    restored = DetectorState.from_records([row.core_state])
    assert restored.level_observed[0] == 12.5
    assert restored.level_history[0, 1:].tolist() == [1.1, 0.9]
