"""detect_series on a little-reported series: days of nothing, or nothing but one outage."""

from __future__ import annotations

import csv

import numpy as np
from django.core.management import call_command

from detection.simulation import write_series_csv

START = 29_892_960  # 2026-11-02 00:00 UTC in epoch minutes


def test_a_series_of_zeros_and_one_burst_is_scored_not_refused(tmp_path):
    # It stopped with sklearn's "loss='poisson' requires ... sum(y) > 0" once the history
    # the fit reads held nothing but zeros (the burst is an outage the fit leaves out), and
    # wrote nothing (CLI tester F0).
    minutes = START + 5 * np.arange(1200)
    values = np.zeros(1200, dtype=np.int64)
    values[100:103] = 50
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series_csv(source, minutes, values)
    call_command("detect_series", str(source), str(out))
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1200
    flagged = [i for i, row in enumerate(rows) if row["is_anomaly"] == "1"]
    assert flagged[0] == 100 and flagged[-1] < 130  # the burst, and nothing after it
    assert all(float(row["expected"]) < 0.1 for row in rows[200:])
