"""The offline `detect_series` command and the `simulate` command."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from detection.core.phase import PHASE_PLUS
from detection.models import Bucket, JobCursor, Outage, SeriesBaseline
from detection.simulation import iso_minute, write_series_csv
from reports.models import Report

START = 29_892_960  # 2026-11-02 00:00 UTC in epoch minutes


def _write(path, minutes, values):
    write_series_csv(path, np.asarray(minutes), np.asarray(values))
    return path


def _read(path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _series(n=3 * 1440, outage_at=None, extra=40, step=1, seed=5):
    rng = np.random.default_rng(seed)
    minutes = START + step * np.arange(n)
    values = rng.poisson(3.0 * step, n)
    if outage_at is not None:
        values[outage_at : outage_at + 10] += extra
    return minutes, values


def test_detect_series_writes_the_specified_columns_and_flags_the_outage(tmp_path):
    minutes, values = _series(outage_at=2 * 1440 + 600)
    out = tmp_path / "out.csv"
    call_command("detect_series", str(_write(tmp_path / "in.csv", minutes, values)), str(out))
    rows = _read(out)
    assert list(rows[0]) == ["timestamp", "value", "expected", "anomaly_score", "is_anomaly"]
    assert len(rows) == len(minutes)
    assert rows[0]["timestamp"] == iso_minute(START)
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)
    flagged = [i for i, r in enumerate(rows) if r["is_anomaly"] == "1"]
    onset = 2 * 1440 + 600
    assert flagged and onset <= flagged[0] <= onset + 2  # detected within two minutes
    assert not [i for i in flagged if i < onset]  # and not before
    quiet_day = rows[1440:2880]
    assert abs(np.mean([float(r["expected"]) for r in quiet_day]) - 3.0) < 0.6


def test_detect_series_writes_to_standard_output_for_a_dash(tmp_path):
    minutes, values = _series(n=1440)
    source = _write(tmp_path / "in.csv", minutes, values)
    out, err = StringIO(), StringIO()
    call_command("detect_series", str(source), "-", stdout=out, stderr=err)
    call_command("detect_series", str(source), str(tmp_path / "out.csv"), stdout=StringIO())
    assert out.getvalue() == (tmp_path / "out.csv").read_text()  # only the CSV
    assert "1440 rows at 1-minute spacing" in err.getvalue()
    assert not (tmp_path / "-").exists()


def test_detect_series_refuses_to_write_over_its_input(tmp_path, monkeypatch):
    minutes, values = _series(n=60)
    source = _write(tmp_path / "in.csv", minutes, values)
    before = source.read_text()
    monkeypatch.chdir(tmp_path)
    for same in (str(source), "in.csv", "./in.csv"):
        with pytest.raises(CommandError, match="is the input file"):
            call_command("detect_series", str(source), same, stdout=StringIO())
    assert source.read_text() == before


def test_detect_series_refuses_stamps_with_and_without_an_offset_mixed(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "timestamp,value\n2026-01-01T00:00:00,1\n2026-01-01T01:05:00+01:00,2\n"
        "2026-01-01T00:10:00,3\n"
    )
    with pytest.raises(CommandError, match=r"line 3: .* has a UTC offset unlike the rows"):
        call_command("detect_series", str(source), str(tmp_path / "out.csv"))
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.django_db
def test_simulate_live_refuses_an_outage_after_its_last_minute(make_service):
    make_service("acme")
    with pytest.raises(CommandError, match="--outage-at 50 is not within the 5 minutes"):
        call_command("simulate", "live", "acme", "--minutes", "5", "--outage-at", "50")
    assert not Report.objects.exists()


def test_detect_series_is_causal(tmp_path):
    minutes, values = _series(n=2 * 1440, seed=8)
    changed = values.copy()
    changed[1500:] = 50  # rewrite the future
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    call_command("detect_series", str(_write(tmp_path / "ia.csv", minutes, values)), str(a))
    call_command("detect_series", str(_write(tmp_path / "ib.csv", minutes, changed)), str(b))
    assert _read(a)[:1500] == _read(b)[:1500]


def test_detect_series_accepts_hourly_spacing(tmp_path):
    minutes, values = _series(n=24 * 21, step=60)
    out = tmp_path / "out.csv"
    call_command("detect_series", str(_write(tmp_path / "in.csv", minutes, values)), str(out))
    rows = _read(out)
    assert len(rows) == 24 * 21
    assert sum(r["is_anomaly"] == "1" for r in rows[24 * 7 :]) == 0


def _nab_style(path, step_minutes, values, start=dt.datetime(2015, 2, 26, 21, 42, 53)):
    """A series whose stamps sit at :53 seconds past the minute, as NAB's realTweets files."""
    stamps = [str(start + dt.timedelta(minutes=step_minutes * i)) for i in range(len(values))]
    rows = "".join(f"{s},{v}\n" for s, v in zip(stamps, values, strict=True))
    path.write_text("timestamp,value\n" + rows)
    return path, stamps


def test_detect_series_keeps_stamps_off_the_minute_verbatim(tmp_path):
    _, values = _series(n=7 * 288, step=5, seed=11)
    src, stamps = _nab_style(tmp_path / "in.csv", 5, values)
    out = tmp_path / "out.csv"
    call_command("detect_series", str(src), str(out), stdout=StringIO())
    rows = _read(out)
    assert [r["timestamp"] for r in rows] == stamps  # '2015-02-26 21:42:53', ...
    assert [int(r["value"]) for r in rows] == list(values)
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)


@pytest.mark.parametrize(("step", "days"), [(5, 7), (60, 21)])
def test_detect_series_accepts_5_and_60_minute_spacing_off_the_minute(tmp_path, step, days):
    _, values = _series(n=days * 1440 // step, step=step, seed=12)
    src, _ = _nab_style(tmp_path / "in.csv", step, values)
    stdout = StringIO()
    call_command("detect_series", str(src), str(tmp_path / "out.csv"), stdout=stdout)
    assert f"at {step}-minute spacing" in stdout.getvalue()
    assert len(_read(tmp_path / "out.csv")) == len(values)


def test_detect_series_refuses_irregular_spacing_naming_the_line(tmp_path):
    src, _ = _nab_style(tmp_path / "in.csv", 5, [3] * 60)
    lines = src.read_text().splitlines()
    lines[56] = "2015-02-27 02:19:53,3"  # row 56 (line 57) comes 7 minutes after row 55
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as error:
        call_command("detect_series", str(src), str(tmp_path / "out.csv"))
    assert str(error.value) == (
        f"{src}: line 57: '2015-02-27 02:19:53' is 7 minutes after the previous row; "
        "this file's fixed spacing is 5 minutes"
    )
    assert not (tmp_path / "out.csv").exists()


def test_detect_series_refuses_90_minute_spacing_naming_the_line(tmp_path):
    src, stamps = _nab_style(tmp_path / "in.csv", 90, [3] * 10)
    with pytest.raises(CommandError, match=f"line 3: '{stamps[1]}' is 90 minutes after"):
        call_command("detect_series", str(src), str(tmp_path / "out.csv"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,count\n2026-11-02T00:00:00Z,1\n", "header must be timestamp,value"),
        ("timestamp,value\nyesterday,1\n", "not an ISO 8601 timestamp"),
        ("timestamp,value\n2026-11-02T00:00:00Z,-1\n", "must be a count"),
        ("timestamp,value\n2026-11-02T00:00:00Z,x\n", "not a number"),
        # float() takes these; a count is plain decimal notation.
        ("timestamp,value\n2026-11-02T00:00:00Z,1_000\n", "line 2: value '1_000' is not a number"),
        ("timestamp,value\n2026-11-02T00:00:00Z,inf\n", "line 2: value 'inf' is not a number"),
        ("timestamp,value\n2026-11-02T00:00:00Z,\u0661\u0662\n", "is not a number"),
        # Not a count of reports: from about 1e50 the baseline overflowed into nan.
        ("timestamp,value\n2026-11-02T00:00:00Z,1e50\n", "line 2: .* is not a count of reports"),
        # An unbalanced quote ran on to the csv module's field limit: a traceback before.
        (
            'timestamp,value\n2026-11-02T00:00:00Z,1\n2026-11-02T00:01:00Z,"1\n'
            + "2026-11-02T00:02:00Z,1\n" * 6000,
            "line .*: field larger than field limit",
        ),
        (
            "timestamp,value\n2026-11-02T00:00:00Z,1\n2026-11-02T00:01:00Z,1\n"
            "2026-11-02T00:03:00Z,1\n",
            "fixed spacing",
        ),
        ("timestamp,value\n2026-11-02T00:00:00Z,1\n2026-11-02T02:00:00Z,1\n", "1 to 60"),
        ("timestamp,value\n", "no rows"),
    ],
)
def test_detect_series_refuses_bad_input_clearly(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("detect_series", str(path), str(tmp_path / "out.csv"))


def test_simulate_csv_writes_labelled_series(tmp_path):
    call_command(
        "simulate", "csv", str(tmp_path), "--series", "2", "--weeks", "1", stdout=StringIO()
    )
    labels = json.loads((tmp_path / "series-000.labels.json").read_text())
    assert "outages" in labels and "spec" in labels
    rows = _read(tmp_path / "series-001.csv")
    assert len(rows) == 7 * 1440 and list(rows[0]) == ["timestamp", "value"]


# `simulate history` ends at the current time; its simulated traffic follows the time of day,
# so the number of busy minutes depends on the hour: pin the clock (mid-afternoon UTC).
HISTORY_NOW = dt.datetime(2026, 11, 18, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def history_clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: HISTORY_NOW)
    return HISTORY_NOW


@pytest.mark.django_db
def test_simulate_history_fills_reports_buckets_and_baselines(make_service, history_clock):
    make_service("acme")
    call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=StringIO())
    assert Report.objects.count() > 1000
    assert Bucket.objects.filter(country="").count() > 3000
    assert SeriesBaseline.objects.filter(method="hgb").exists()
    assert Outage.objects.filter(status="active").count() == 0


@pytest.mark.django_db
def test_simulated_past_outages_say_how_many_networks_reported_them(make_service, history_clock):
    """As live ones do: the history's outages said "from 0 networks"."""
    make_service("acme")
    # Seed 3's week holds one outage past its first three days (earlier ones are left out).
    call_command(
        "simulate", "history", "--services", "1", "--weeks", "1", "--seed", "3", stdout=StringIO()
    )
    assert Outage.objects.exists()
    for outage in Outage.objects.all():
        span = Report.objects.filter(
            service=outage.service,
            created_at__gte=outage.started_at,
            created_at__lt=outage.resolved_at,
        )
        assert outage.networks == span.values("reporter_key").distinct().count() > 0
        # Where and what, as a live outage's: every one read "Everywhere" and "No problem
        # stands out" (cross-surface tester, forty-seventh session).
        assert outage.total_reports == span.filter(counted=True).count()
        assert outage.countries and outage.top_problems
        countries = Counter(span.filter(counted=True).values_list("country", flat=True))
        assert outage.countries[0] == countries.most_common(1)[0][0]


@pytest.mark.django_db
def test_simulated_history_does_not_record_again_an_outage_already_recorded(
    make_service, history_clock
):
    """An outage the live detector recorded (a real report behind it, so a reset keeps it)
    over minutes where the history finds one too: recorded once, not a second "simulated"
    outage of the same event."""
    from reports.services import report_create

    make_service("acme")
    history = ("simulate", "history", "--services", "1", "--weeks", "1", "--seed", "3")
    call_command(*history, stdout=StringIO())
    found = Outage.objects.get()
    found.explanation = "Recorded live."
    found.save()
    service = found.service
    report_create(
        service=service,
        problem=service.problem_types.first(),
        country="DE",
        source=Report.Source.WEB,
        address="12.0.0.1",
        now=found.started_at + dt.timedelta(seconds=30),
    )
    call_command(*history, "--replace", stdout=StringIO())
    assert list(Outage.objects.values_list("pk", flat=True)) == [found.pk]


@pytest.mark.django_db
def test_simulate_history_on_a_running_stack_is_bucketed(make_service, history_clock):
    """`make run` has bucketed up to now before `simulate history` writes into the past."""
    from detection.services.buckets import CURSOR, buckets_aggregate

    make_service("acme")
    buckets_aggregate()
    watermark = JobCursor.objects.get(name=CURSOR).position
    call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=StringIO())
    assert Bucket.objects.filter(country="").count() > 3000
    assert SeriesBaseline.objects.filter(method="hgb").exists()
    assert JobCursor.objects.get(name=CURSOR).position >= watermark


@pytest.mark.django_db
def test_simulate_live_sends_reports_through_ingestion(make_service):
    make_service("acme")
    call_command(
        "simulate", "live", "acme", "--minutes", "2", "--rate", "2", "--outage-at", "1",
        "--outage-minutes", "1", "--outage-rate", "20", "--flood", "5",
        "--seconds-per-minute", "0", stdout=StringIO(),
    )  # fmt: skip
    reports = Report.objects.all()
    assert reports.count() > 20
    assert reports.filter(counted=False).count() >= 8  # the flooder's 10 reports count once


def test_simulate_live_stopped_with_ctrl_c_says_so_without_a_traceback(make_service, monkeypatch):
    from detection.management.commands import simulate

    make_service("acme")
    sent = []

    def minute(**kwargs):
        if sent:
            raise KeyboardInterrupt
        sent.append(1)
        return 3

    monkeypatch.setattr(simulate, "live_minute", minute)
    out = StringIO()
    call_command("simulate", "live", "acme", "--seconds-per-minute", "0", stdout=out)
    assert out.getvalue().splitlines()[-1] == "Stopped; the reports sent so far are stored."


def _simulated_reports():
    from detection.services.simulate import SIMULATED_KEY_PREFIX

    return Report.objects.filter(reporter_key__startswith=SIMULATED_KEY_PREFIX)


@pytest.mark.django_db
def test_simulate_history_prints_progress_and_refuses_to_double(make_service, history_clock):
    make_service("acme")
    out = StringIO()
    call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=out)
    lines = out.getvalue().splitlines()
    assert any("reports (1/1 services)" in line for line in lines), lines
    assert any(line.startswith("Bucketed 4/4 days") for line in lines)
    assert "Baselines fitted" in lines
    written = Report.objects.count()
    with pytest.raises(CommandError, match="simulate reset"):
        call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=out)
    assert Report.objects.count() == written


@pytest.mark.django_db
def test_simulate_history_replace_writes_it_once(make_service, history_clock):
    make_service("acme")
    call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=StringIO())
    first = (Report.objects.count(), Bucket.objects.filter(country="").count())
    call_command(
        "simulate", "history", "--services", "1", "--weeks", "0.5", "--replace", stdout=StringIO()
    )
    assert (Report.objects.count(), Bucket.objects.filter(country="").count()) == first


@pytest.mark.django_db
def test_simulate_reset_removes_simulated_data_and_only_that(make_service, history_clock):
    from detection.services.simulate import simulated_explanation
    from reports.services import report_create

    service = make_service("acme")
    real_outage = Outage.objects.create(
        service=service,
        status=Outage.Status.RESOLVED,
        started_at=HISTORY_NOW - dt.timedelta(hours=3),
        detected_at=HISTORY_NOW - dt.timedelta(hours=3),
        resolved_at=HISTORY_NOW - dt.timedelta(hours=1),
        explanation="A real one.",
    )
    real = report_create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        source=Report.Source.WEB,
        address="11.0.0.1",
        now=HISTORY_NOW - dt.timedelta(hours=2),
    ).report
    call_command("simulate", "history", "--services", "1", "--weeks", "0.5", stdout=StringIO())
    assert _simulated_reports().count() > 1000
    # Half a week is too short to judge past outages on: one as _outages_from_history makes.
    Outage.objects.create(
        service=service,
        status=Outage.Status.RESOLVED,
        started_at=HISTORY_NOW - dt.timedelta(days=2),
        detected_at=HISTORY_NOW - dt.timedelta(days=2),
        resolved_at=HISTORY_NOW - dt.timedelta(days=2, hours=-1),
        explanation=simulated_explanation("12 counted reports."),
    )
    # One the running detector opened on the history's newest minutes, unmarked (newcomer
    # tester F2: it stayed open, "0 reports so far", after the history had gone); beside it
    # a real one, which a real report stands behind.
    simulated_service = _simulated_reports().first().service
    real_there = report_create(
        service=simulated_service,
        problem=simulated_service.problem_types.first(),
        country="DE",
        source=Report.Source.WEB,
        address="12.0.0.1",
        now=HISTORY_NOW - dt.timedelta(minutes=110),
    ).report
    kept = Outage.objects.create(
        service=simulated_service,
        status=Outage.Status.RESOLVED,
        started_at=HISTORY_NOW - dt.timedelta(hours=2, minutes=5),
        detected_at=HISTORY_NOW - dt.timedelta(hours=2, minutes=3),
        resolved_at=HISTORY_NOW - dt.timedelta(hours=1),
        explanation="Real, in the simulated span.",
    )
    Outage.objects.create(
        service=simulated_service,
        status=Outage.Status.ACTIVE,
        started_at=HISTORY_NOW - dt.timedelta(minutes=30),
        detected_at=HISTORY_NOW - dt.timedelta(minutes=28),
        explanation="Opened live.",
    )
    out = StringIO()
    call_command("simulate", "reset", stdout=out)
    assert "Removed 2 simulated outages" in out.getvalue()
    assert sorted(Report.objects.values_list("pk", flat=True)) == [real.pk, real_there.pk]
    assert sorted(Outage.objects.values_list("pk", flat=True)) == [real_outage.pk, kept.pk]
    # The buckets are the real reports' only.
    overall = Bucket.objects.filter(country="").order_by("minute")
    assert [(b.minute, b.reports) for b in overall] == [
        (r.created_at.replace(second=0, microsecond=0), 1) for r in (real, real_there)
    ]


@pytest.mark.django_db(transaction=True)
def test_simulate_history_pauses_the_tick_and_holds_no_transaction_between_batches(
    make_service, history_clock, monkeypatch
):
    from detection import tasks
    from detection.services import simulate

    make_service("acme")
    monkeypatch.setattr(simulate, "BATCH_ROWS", 500)
    seen = []

    def progress(line: str) -> None:
        # Between batches: nothing of the history is holding the database, and the tick
        # stands aside.
        from django.db import connection

        seen.append((line, connection.in_atomic_block, tasks.detect_minute()))

    simulate.history_seed(weeks=0.5, services=1, progress=progress)
    assert seen and all(not in_atomic for _, in_atomic, _ in seen)
    assert all(tick == {"paused": True} for _, _, tick in seen)
    assert not simulate.tick_paused()
    assert tasks.detect_minute(now=HISTORY_NOW.isoformat()) != {"paused": True}


@pytest.mark.django_db(transaction=True)
def test_simulate_history_writes_reports_in_short_transactions(
    make_service, history_clock, monkeypatch
):
    from django.db import connection

    from detection.services import simulate

    make_service("acme")
    monkeypatch.setattr(simulate, "BATCH_ROWS", 500)
    commits = []
    original = simulate._batch_write

    def batch_write(batch):
        written = original(batch)
        commits.append((written, connection.in_atomic_block))
        return written

    monkeypatch.setattr(simulate, "_batch_write", batch_write)
    simulate.history_seed(weeks=0.5, services=1)
    assert len(commits) > 3
    # A batch closes at the first whole minute past BATCH_ROWS rows.
    assert all(n < 1000 and not in_atomic for n, in_atomic in commits), commits


def _berlin_series(tmp_path, days_before: int = 10, days_after: int = 1):
    """Counts that follow Berlin's clock through its 2026 spring change (29 March 01:00 UTC)."""
    from detection.core import zone_clock
    from tests.detection.dst_series import daily_rate

    change = int(dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC).timestamp()) // 60
    first = change - 1 - 60 - days_before * 1440  # midnight UTC
    minutes = first + np.arange((days_before + days_after) * 1440)
    local = minutes + zone_clock("Europe/Berlin", first, int(minutes[-1])).at(minutes)
    rate = daily_rate(local, 12.0)
    values = np.random.default_rng(4).poisson(rate)
    return _write(tmp_path / "in.csv", minutes, values), minutes, rate, change


def test_detect_series_with_a_timezone_reads_the_new_offset_from_the_change_on(
    tmp_path, monkeypatch
):
    import detection.csvio as csvio

    src, minutes, _, change = _berlin_series(tmp_path)
    phases = {}
    run = csvio.detect_series

    def keep_phase(*args, **kwargs):
        result = run(*args, **kwargs)
        phases[args[4] is not None] = result.phase
        return result

    monkeypatch.setattr(csvio, "detect_series", keep_phase)
    for extra in (["--timezone", "Europe/Berlin"], []):
        out = tmp_path / "out.csv"
        call_command("detect_series", str(src), str(out), *extra, stdout=StringIO())
        rows = _read(out)
        assert len(rows) == len(minutes)
        assert not any(int(r["is_anomaly"]) for r in rows[-3 * 1440 :])
    # Known, the profile is read an hour on from the change's first minute; unknown, the
    # evidence of the counts has not decided it that early.
    at = int(np.searchsorted(minutes, change))
    assert phases[True][at] == PHASE_PLUS and phases[False][at] != PHASE_PLUS


def test_detect_series_refuses_an_unknown_timezone(tmp_path):
    src, _ = _nab_style(tmp_path / "in.csv", 5, [3] * 60)
    for zone in ("Europe/Atlantis", "../etc/passwd"):
        with pytest.raises(CommandError, match=f"--timezone: no time zone named '{zone}'"):
            call_command("detect_series", str(src), str(tmp_path / "out.csv"), "--timezone", zone)
    assert not (tmp_path / "out.csv").exists()


def test_detect_series_reads_a_byte_order_mark_and_refuses_what_is_not_utf8(tmp_path):
    rows = "".join(f"2026-11-02T00:{m:02d}:00Z,{3 + m % 2}\n" for m in range(60))
    src = tmp_path / "bom.csv"
    src.write_text("timestamp,value\n" + rows, encoding="utf-8-sig")  # as spreadsheets save
    call_command("detect_series", str(src), str(tmp_path / "out.csv"), stdout=StringIO())
    assert (tmp_path / "out.csv").read_text().startswith("timestamp,value,expected")

    latin = tmp_path / "latin.csv"
    latin.write_bytes(("timestamp,value\n" + rows).encode() + "# café\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("detect_series", str(latin), str(tmp_path / "out2.csv"))
    assert not (tmp_path / "out2.csv").exists()


def test_detect_series_says_what_is_wrong_with_a_path_or_zone(tmp_path):
    src, _ = _nab_style(tmp_path / "in.csv", 5, [3] * 60)
    with pytest.raises(CommandError, match="cannot be written"):
        call_command("detect_series", str(src), str(tmp_path / "no" / "such" / "out.csv"))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("detect_series", str(tmp_path), str(tmp_path / "out.csv"))
    with pytest.raises(CommandError, match="no time zone named"):
        call_command("detect_series", str(src), str(tmp_path / "out.csv"), "--timezone", "x" * 300)
    ancient = tmp_path / "ancient.csv"
    ancient.write_text(
        "timestamp,value\n" + "".join(f"0001-01-01T00:{m:02d}:00,3\n" for m in range(30))
    )
    with pytest.raises(CommandError, match="outside the years the time zone Europe/Berlin"):
        call_command(
            "detect_series", str(ancient), str(tmp_path / "out.csv"), "--timezone", "Europe/Berlin"
        )
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["csv", "DIR", "--weeks", "-1"], "argument --weeks: -1 is not above 0 to 52"),
        (["csv", "DIR", "--weeks", "nan"], "argument --weeks: nan is not above 0"),
        (["csv", "DIR", "--weeks", "1e5"], "argument --weeks: 1e5 is not above 0 to 52"),
        (["csv", "DIR", "--series", "-3"], "argument --series: -3 is not from 1 to 1000"),
        (["history", "--services", "-1"], "argument --services: -1 is not from 1"),
        (["live", "acme", "--rate", "-1"], "argument --rate: -1 is not from 0 to 10000"),
        (["live", "acme", "--rate", "1e12"], "argument --rate: 1e12 is not from 0"),
        (["live", "acme", "--minutes", "-5"], "argument --minutes: -5 is not from 1"),
        (["live", "acme", "--flood", "-3"], "argument --flood: -3 is not from 0"),
        (["live", "acme", "--countries", "ZZZ,12", "--minutes", "1"], "--countries: .*ZZZ"),
    ],
)
def test_simulate_refuses_numbers_out_of_range_with_a_message(tmp_path, args, message, service):
    args = [str(tmp_path / "out") if a == "DIR" else a for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("simulate", *args, stdout=StringIO())
    assert not (tmp_path / "out").exists()


def test_simulate_csv_into_a_file_is_a_message(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("simulate", "csv", str(tmp_path / "taken"), "--weeks", "0.01")


@pytest.mark.django_db
def test_simulate_live_takes_a_renamed_services_former_slug(make_service):
    from reports.models import FormerSlug

    FormerSlug.objects.create(slug="acme-old", service=make_service("acme"))
    # Past the name lookup it refuses the outage as for the current slug: the service was found.
    with pytest.raises(CommandError, match="--outage-at 50 is not within the 5 minutes"):
        call_command("simulate", "live", "Acme-Old", "--minutes", "5", "--outage-at", "50")
    with pytest.raises(CommandError, match="Unknown service 'nobody'"):
        call_command("simulate", "live", "nobody", "--minutes", "5")


class _RedisDown:
    """The cache of a process whose REDIS_URL points where no Redis answers."""

    def _refused(self, *args, **kwargs):
        from redis.exceptions import ConnectionError as RedisConnectionError

        raise RedisConnectionError("Connection refused")

    get = set = delete = _refused


@pytest.mark.django_db
def test_simulate_history_refuses_when_a_running_tick_cannot_be_asked_to_pause(
    make_service, history_clock, monkeypatch
):
    """`make run` with Redis moved, simulate without the same REDIS_URL: the running tick and
    the backfill wrote at once and SQLite stopped the backfill halfway ("database is locked",
    after 131 warnings; newcomer tester F1). It refuses at once and changes nothing."""
    from detection.services import simulate

    make_service("acme")
    monkeypatch.setattr(simulate, "cache", _RedisDown())
    cursor = JobCursor.objects.create(name=JobCursor.TICK, position=HISTORY_NOW)
    args = ("simulate", "history", "--services", "1", "--weeks", "0.5")
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=StringIO())
    assert str(refused.value).startswith(
        "The detector is running (it judged a minute at 15:00:30 UTC) but Redis at "
    )
    assert "with the REDIS_URL that `make run` was given" in str(refused.value)
    assert not Report.objects.exists()
    # No tick has run for a while: there is nothing to pause, and the history is written.
    JobCursor.objects.filter(pk=cursor.pk).update(updated_at=HISTORY_NOW - dt.timedelta(hours=1))
    call_command(*args, stdout=StringIO())
    written = Report.objects.count()
    assert written
    # --replace is refused before it removes anything.
    JobCursor.objects.filter(pk=cursor.pk).update(updated_at=HISTORY_NOW)
    with pytest.raises(CommandError):
        call_command(*args, "--replace", stdout=StringIO())
    assert Report.objects.count() == written
