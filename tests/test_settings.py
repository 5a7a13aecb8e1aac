"""Start-up refuses unsafe production settings; the documented ones pass --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "prod-5ecret-key-with-enough-entropy-Zq8vN2kLp0wX4tR7yB1mC6hJ9sD3fG",
    "ALLOWED_HOSTS": "outagewatch.example",
    "SITE_URL": "https://outagewatch.example",
    # Not connected to by `check`: production's database and mail relay, as README lists.
    "DATABASE_URL": "postgres://outagewatch:secret@db.outagewatch.example:5432/outagewatch",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://alerts:secret@smtp.outagewatch.example:587",
    "DEFAULT_FROM_EMAIL": "OutageWatch <alerts@outagewatch.example>",
}


def manage(
    *args: str, env: dict[str, str], cwd: Path = BASE_DIR
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    clean.pop("DEBUG", None)  # the suite runs in development mode; these tests must not
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_stops_start_up_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_deploy_check_refuses_production_mode_with_no_environment():
    result = manage("check", "--deploy", env={})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_offline_detector_runs_with_no_environment(tmp_path):
    # detect_series signs nothing and needs no database: it works without any variable set.
    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,2\n")
    result = manage("detect_series", str(source), str(tmp_path / "out.csv"), env={})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.csv").read_text().startswith("timestamp,value,expected")


@pytest.mark.parametrize("key", ["x", "secret", "a" * 60, "short-but-random-Zq8vN2kLp0"])
def test_a_weak_key_stops_start_up_in_production(key):
    """Reporters' networks are hashed with the key: with a guessable one, anyone holding the
    database reads them back by trying every /24 (red-team tester)."""
    result = manage("check", env={**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY is too weak to keep reporters' networks private" in result.stderr


def test_the_published_development_key_is_no_key_in_production():
    dev_key = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
    result = manage("check", env={**PRODUCTION, "SECRET_KEY": dev_key})
    assert result.returncode != 0
    assert "not to the development key" in result.stderr


def test_celery_processes_refuse_to_start_without_a_key(tmp_path):
    """Celery logs an exception raised in a start-up signal and runs on: the worker and the
    beat ran the tick and the sweeps with no key."""
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DEBUG"}
    # A broker nobody listens on: the refusal comes before any connection.
    env |= {"REDIS_URL": "redis://127.0.0.1:9/0", "DATABASE_URL": f"sqlite:///{tmp_path}/db"}
    celery = str(Path(sys.executable).with_name("celery"))
    for process in (["worker"], ["beat", "--schedule", str(tmp_path / "beat")]):
        result = subprocess.run(
            [celery, "-A", "outagewatch", *process, "--loglevel=INFO"],
            cwd=BASE_DIR,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0, process
        assert "SECRET_KEY must be set when DEBUG is off" in result.stderr, process


def test_deploy_check_warns_about_development_defaults_left_in_production():
    """README's list without the mail relay, and SITE_URL / DATABASE_URL / REDIS_URL left out:
    emails went to var/mail, links to 127.0.0.1, data to SQLite, and --deploy said nothing."""
    env = {k: v for k, v in PRODUCTION.items() if k not in {"EMAIL_URL", "SITE_URL", "REDIS_URL"}}
    env["DATABASE_URL"] = "sqlite:////tmp/outagewatch-deploy-check.sqlite3"
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for warning in ("outagewatch.W001", "outagewatch.W002", "outagewatch.W003", "outagewatch.W004"):
        assert warning in result.stderr + result.stdout
    assert "Emails are not delivered" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        # Ops tester (forty-fourth session): each passed --deploy without a word.
        ({"DEFAULT_FROM_EMAIL": None}, "outagewatch.W005"),
        ({"TRUSTED_PROXIES": "10.0.0.5,0.0.0.0/0"}, "outagewatch.W006"),
        ({"TRUSTED_PROXIES": "::/0"}, "outagewatch.W006"),
        ({"EMAIL_URL": "smtp://alerts:secret@smtp.outagewatch.example:25"}, "outagewatch.W007"),
    ],
)
def test_deploy_check_warns_about_unsafe_production_values(change, warning):
    env = {**PRODUCTION, **{k: v for k, v in change.items() if v is not None}}
    env = {k: v for k, v in env.items() if change.get(k, "") is not None}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert warning in result.stderr + result.stdout


def test_proxies_a_cdn_or_a_private_network_hold_are_no_warning():
    env = {**PRODUCTION, "TRUSTED_PROXIES": "10.0.0.0/8,104.16.0.0/13,2400:cb00::/32,fd00::/8"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_passes_with_documented_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_boolean_is_refused():
    result = manage("check", env={**PRODUCTION, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # Each used to pass start-up: the first made every report a 500, the second a raw
        # traceback, the third had the nightly purge delete every report.
        ("THROTTLE_REPORTS", "ten", "THROTTLE_REPORTS must be a rate such as 10/min"),
        ("REPORT_RETENTION_DAYS", "abc", "REPORT_RETENTION_DAYS must be a whole number, not 'abc'"),
        ("REPORT_RETENTION_DAYS", "0", "REPORT_RETENTION_DAYS must be at least 1."),
        ("ALERT_MAX_ATTEMPTS", "-1", "ALERT_MAX_ATTEMPTS must not be negative"),
        ("BUCKET_RETENTION_DAYS", "7", "it must be more than the 28 days of history"),
        # 0 broke the site quietly: every report a ZeroDivisionError, every request a 408, a
        # server that never answered, a beat flooding its broker (infra review F3).
        ("REPORT_BLOCK_WINDOW_MINUTES", "0", "REPORT_BLOCK_WINDOW_MINUTES must be at least 1."),
        ("REQUEST_BODY_TIMEOUT_SECONDS", "0", "REQUEST_BODY_TIMEOUT_SECONDS must be above 0."),
        ("WEB_THREADS", "0", "WEB_THREADS must be at least 1."),
        ("OFFICIAL_SWEEP_SECONDS", "0.0", "OFFICIAL_SWEEP_SECONDS must be above 0."),
        ("REDIS_SOCKET_TIMEOUT", "0", "REDIS_SOCKET_TIMEOUT must be above 0."),
        ("THROTTLE_IPV6_SITE_FACTOR", "0", "THROTTLE_IPV6_SITE_FACTOR must be at least 1."),
        # Tracebacks that did not name the variable (ops tester F7).
        ("LOG_LEVEL", "verbose", "LOG_LEVEL must be one of DEBUG, INFO, WARNING"),
        ("DETECTOR_OVERRIDES", "{bad", "DETECTOR_OVERRIDES must be JSON"),
        ("DETECTOR_OVERRIDES", "[1]", "DETECTOR_OVERRIDES must be a JSON object"),
        ("DATABASE_URL", "postgress://x@db/ow", "DATABASE_URL names an unknown kind of database"),
        ("EMAIL_URL", "garbage", "EMAIL_URL must be a URL such as smtp+tls://"),
        ("EMAIL_URL", "smtp://me:s3cret@host:notaport", "EMAIL_URL must be a URL such as"),
    ],
)
def test_a_bad_number_or_rate_stops_start_up_naming_the_variable(variable, value, message):
    result = manage("check", env={**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "s3cret" not in result.stderr  # an email URL's password


def test_where_0_turns_something_off_it_is_taken():
    result = manage(
        "check",
        env={**PRODUCTION, "OUTAGE_REOPEN_MINUTES": "0", "ALERT_COOLDOWN_MINUTES": "0"},
    )
    assert result.returncode == 0, result.stderr


def test_confirmation_links_must_outlive_the_gathered_lists_wait():
    result = manage("check", env={**PRODUCTION, "SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS": "2"})
    assert result.returncode != 0
    assert "SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS must be at least 3" in result.stderr


def test_unknown_detector_override_stops_start_up():
    result = manage(
        "check", env={**PRODUCTION, "DETECTOR_OVERRIDES": '{"quiet_minute": 20, "p_outage": 1e-7}'}
    )
    assert result.returncode != 0
    assert "unknown detector setting(s): quiet_minute" in result.stderr


def _database_options(env: dict[str, str]) -> str:
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = manage("shell", "-c", code, env={"DEBUG": "1", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_only_the_web_servers_pooled_connections_prepare_statements():
    pg = {"DATABASE_URL": "postgres://u:p@127.0.0.1:5432/outagewatch"}
    assert "'prepare_threshold': 5" in _database_options({**pg, "DB_POOL": "1"})
    off = _database_options({**pg, "DB_POOL": "1", "DB_PREPARED_STATEMENTS": "0"})
    assert "'prepare_threshold': None" in off
    assert "prepare_threshold" not in _database_options({**pg, "DB_POOL": "0"})  # Celery


def _fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    files = subprocess.run(
        ["git", "ls-files"], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((BASE_DIR / name).read_bytes())
    assert not (clone / "var").exists()
    return clone


def test_a_fresh_clone_migrates_on_sqlite_with_no_environment(tmp_path):
    # The zero-setup default is a SQLite file under var/, which a clone does not have: the
    # first command a newcomer runs (`make test`, `manage.py migrate`) must not fail on it.
    clone = _fresh_clone(tmp_path)
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=clone,
        env={**clean, "DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (clone / "var" / "db.sqlite3").is_file()


def test_a_fresh_clone_on_postgresql_has_the_folder_the_beats_schedule_goes_in(tmp_path):
    # README's beat runs with `--schedule var/celerybeat-schedule`: on a PostgreSQL host
    # nothing made var/, and the beat stopped on FileNotFoundError (ops tester F1).
    clone = _fresh_clone(tmp_path)
    result = manage("check", env=PRODUCTION, cwd=clone)
    assert result.returncode == 0, result.stderr
    assert (clone / "var").is_dir()


def test_health_probes_over_plain_http_are_answered_not_redirected(tmp_path):
    """A load balancer's probe reaches the app's port over HTTP: production's redirect to
    https answered it with a 301, which reads as a failed check (newcomer tester F3)."""
    code = (
        "from django.test import Client; c = Client(HTTP_HOST='outagewatch.example'); "
        "print(c.get('/api/v1/health/live/').status_code, "
        "c.get('/api/v1/services/').status_code)"
    )
    env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["200", "301"]
