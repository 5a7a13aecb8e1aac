"""Data migrations keep what the detector had learnt."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _back_to(*targets: tuple[str, str]):
    """Migrate back to ``targets``; the models as they were there (historical apps)."""
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    return executor.loader.project_state(list(targets)).apps


def _forward() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _old_service(old, slug: str):
    category = old.get_model("reports", "Category").objects.create(slug="c", name="C")
    return old.get_model("reports", "Service").objects.create(
        slug=slug, name="Acme", category=category, website="https://acme.example"
    )


@pytest.mark.django_db(transaction=True)
def test_state_columns_become_one_record():
    old = _back_to(("detection", "0006_series_calibration"), ("reports", "0003_network_evidence"))
    service = _old_service(old, "acme-m")
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

    _forward()
    from detection.core import DetectorState
    from detection.models import SeriesState

    row = SeriesState.objects.get(service__slug="acme-m")
    assert row.state == 2
    assert row.core_state["onset"] == 29_000_000 and row.core_state["phase"] == 2
    restored = DetectorState.from_records([row.core_state])
    assert restored.level_observed[0] == 12.5
    assert restored.level_history[0, 1:].tolist() == [1.1, 0.9]


@pytest.mark.django_db(transaction=True)
def test_the_series_tables_keep_one_index_that_starts_with_the_service():
    """0015 drops the index of the service alone (the unique index serves) and keeps the
    foreign key; backwards it is back."""
    tables = ["detection_bucket", "detection_hourlybucket", "detection_seriesstate"]

    def indexes() -> dict[str, list[list[str]]]:
        with connection.cursor() as cursor:
            found = {t: connection.introspection.get_constraints(cursor, t) for t in tables}
        return {
            t: sorted(c["columns"] for c in cs.values() if c["index"] or c["unique"])
            for t, cs in found.items()
        }

    def foreign_keys() -> dict[str, bool]:
        with connection.cursor() as cursor:
            return {
                t: any(
                    c["foreign_key"] and c["columns"] == ["service_id"]
                    for c in connection.introspection.get_constraints(cursor, t).values()
                )
                for t in tables
            }

    _back_to(("detection", "0014_series_state_storage"))
    before = indexes()
    assert all(["service_id"] in cols for cols in before.values())
    _forward()
    after = indexes()
    for table, cols in after.items():
        assert ["service_id"] not in cols
        assert any(c[:2] == ["service_id", "country"] for c in cols)
        assert sorted([*cols, ["service_id"]]) == before[table]
    assert all(foreign_keys().values())


@pytest.mark.django_db(transaction=True)
def test_a_baseline_keeps_its_profile_once():
    """0016 takes the profile out of the JSON where the bytes hold it (a row without them
    keeps it there) and keeps the digest; backwards the JSON has it again."""
    from detection.baseline_record import EARLIER_PROFILE_DTYPE, params_digest
    from detection.core import Baseline

    def profile_bytes(record):  # the layout of rows then (0016 reads it so)
        return np.asarray(record["profile"], EARLIER_PROFILE_DTYPE).tobytes()

    before = [("detection", "0015_series_service_indexes")]
    old = _back_to(*before)
    service = _old_service(old, "acme-b")
    records = {}
    for k, country in enumerate(["", "DE"]):
        profile = [round(0.1 + 0.37 * k + i / 7, 6) for i in range(672)]
        records[country] = Baseline(
            profile=profile, dispersion=0.1, fitted_at=29_000_000, history_minutes=40_000,
            method="hgb",
        ).to_dict()  # fmt: skip
    model = old.get_model("detection", "SeriesBaseline")
    # As save() stored rows then: the whole record as JSON, its digest, its bytes; and one
    # written around save(), without the bytes.
    for country, record in records.items():
        model.objects.create(
            service=service,
            country=country,
            params=record,
            method="hgb",
            fitted_at="2026-11-30T00:00:00Z",
            digest=params_digest(record),
            profile=profile_bytes(record) if country else None,
        )

    _forward()
    from detection.models import SeriesBaseline

    rows = list(SeriesBaseline.objects.filter(service__slug="acme-b"))
    assert sorted(row.country for row in rows) == ["", "DE"]
    for row in rows:
        record = records[row.country]
        if row.country:
            assert "profile" not in row.params
            assert bytes(row.profile) == profile_bytes(record)
        else:
            assert row.params == record and row.profile is None
        assert row.digest == params_digest(record) == params_digest(row.record())
        assert row.record() == record
        assert row.baseline().profile.tolist() == record["profile"]

    _back_to(*before)
    rows = list(old.get_model("detection", "SeriesBaseline").objects.all())
    assert sorted(row.country for row in rows) == ["", "DE"]
    for row in rows:
        assert row.params == records[row.country]
    _forward()


@pytest.mark.django_db(transaction=True)
def test_timeline_entries_without_figures_become_null():
    """0023: the 0.0 that entries without a minute of their own stored (a relapse, an end)
    becomes null; measured entries keep their figures."""
    before = [("detection", "0022_outageevent_since")]
    old = _back_to(*before)
    service = _old_service(old, "acme-e")
    outage = old.get_model("detection", "Outage").objects.create(
        service=service,
        started_at="2026-11-30T12:00:00Z",
        detected_at="2026-11-30T12:02:00Z",
    )
    event = old.get_model("detection", "OutageEvent")
    at = "2026-11-30T12:02:00Z"
    event.objects.create(outage=outage, at=at, kind="opened", observed=42, expected=3.2)
    event.objects.create(outage=outage, at=at, kind="resolved", observed=0, expected=0)

    _forward()
    from detection.models import OutageEvent

    rows = OutageEvent.objects.filter(outage__service__slug="acme-e").order_by("kind")
    assert [(e.kind, e.observed, e.expected) for e in rows] == [
        ("opened", 42.0, 3.2),
        ("resolved", None, None),
    ]


@pytest.mark.django_db(transaction=True)
def test_going_back_rewrites_single_precision_profiles_in_the_earlier_layout(service):
    """Upgrade tester (forty-third session): code from before single-precision profiles
    stopped on every minute after a rollback, the cold refit having rewritten young series'
    profiles within a minute of the upgrade. Reversing 0025 rewrites them as float64."""
    from detection.baseline_record import PROFILE_DTYPE
    from detection.models import SeriesBaseline

    values = np.linspace(0.5, 3.0, 672)
    single = values.astype(PROFILE_DTYPE).tobytes()
    row = SeriesBaseline.objects.create(
        service=service, country="DE", params={"profile": values.tolist()}, method="prior",
        fitted_at="2026-12-06T00:00:00Z",
    )  # fmt: skip
    assert bytes(SeriesBaseline.objects.get(pk=row.pk).profile) == single  # as saved now

    old = _back_to(("detection", "0024_outage_paused_minutes"))
    stored = bytes(old.get_model("detection", "SeriesBaseline").objects.get(pk=row.pk).profile)
    _forward()
    assert len(stored) == 672 * 8
    np.testing.assert_array_equal(
        np.frombuffer(stored, ">f8"), values.astype(PROFILE_DTYPE).astype(np.float64)
    )


@pytest.mark.django_db(transaction=True)
def test_a_country_series_keeps_its_sites_from_the_reports_within_the_window(settings):
    """Pairs admitted on counted reports (SeriesEvidence) need sites now: the migration
    records those of the reports still in the window, each pair's latest K, counted only."""
    import datetime as dt

    settings.SERIES_MIN_SITES = 2
    old = _back_to(
        ("detection", "0030_bucket_reporters_are_sites"), ("reports", "0016_report_site_key")
    )
    service = _old_service(old, "acme-s")
    problem = old.get_model("reports", "ProblemType").objects.create(slug="p", name="P")
    report = old.get_model("reports", "Report")
    now = dt.datetime.now(dt.UTC)

    def sent(country, site, ago, counted=True):
        report.objects.create(service=service, problem=problem, country=country, source="api",
                              created_at=now - ago, reporter_key=f"net-{site}", site_key=site,
                              counted=counted)  # fmt: skip

    hour, days = dt.timedelta(hours=1), dt.timedelta(days=settings.SERIES_IDLE_DAYS)
    for k, site in enumerate(["a", "b", "c"]):
        sent("DE", site, (k + 1) * hour)
    sent("DE", "a", 5 * hour)  # its latest counts, once
    sent("FR", "x", hour)
    sent("FR", "y", hour, counted=False)
    sent("FR", "z", 2 * days)  # before the window

    _forward()
    from detection.models import SeriesSite

    kept = {(s.country, s.site_key) for s in SeriesSite.objects.filter(service__slug="acme-s")}
    assert kept == {("DE", "a"), ("DE", "b"), ("FR", "x")}


@pytest.mark.django_db(transaction=True)
def test_a_problem_keeps_its_sites_from_the_days_reports():
    """The 24-hour breakdown lists a problem only from listing_sites() sites now: the
    migration records those of the day's counted reports (each problem's latest K), so a
    problem with them is not left out until new reports record them again."""
    import datetime as dt

    from detection.services.config import listing_sites

    old = _back_to(("detection", "0032_outage_problem_site"), ("reports", "0016_report_site_key"))
    service = _old_service(old, "acme-p")
    problem = old.get_model("reports", "ProblemType").objects.create(slug="pp", name="P")
    report = old.get_model("reports", "Report")
    now = dt.datetime.now(dt.UTC)
    k = listing_sites()

    def sent(site, ago, counted=True):
        report.objects.create(service=service, problem=problem, country="", source="api",
                              created_at=now - ago, reporter_key=f"net-{site}", site_key=site,
                              counted=counted)  # fmt: skip

    hour = dt.timedelta(hours=1)
    for n in range(k + 1):
        sent(f"s{n}", (n + 1) * hour)  # the oldest beyond the K latest
    sent("s0", 5 * hour)  # its latest counts, once
    sent("u", hour, counted=False)
    sent("old", 26 * hour)  # before the day

    _forward()
    from detection.models import ProblemSite

    rows = ProblemSite.objects.filter(service__slug="acme-p")
    kept = set(rows.values_list("site_key", flat=True))
    assert kept == {f"s{n}" for n in range(k)}
