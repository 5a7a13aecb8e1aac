"""OutageWatch settings, read from environment variables.

Production behaviour is the default: DEBUG is off and start-up refuses to run without a
SECRET_KEY. Development mode is asked for explicitly with DEBUG=1 (`make run` and the test
suite do so); then everything works with no other variable set (SQLite under var/, Redis
on localhost, emails written to var/mail/). Production sets at least SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, SITE_URL and the email settings; see
docs/configuration.md.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu.entity import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
# A fresh clone has no var/ until something makes it, and nothing else creates it: SQLite's
# file, the beat's schedule (README's `--schedule var/celerybeat-schedule`, which failed on a
# PostgreSQL host: ops tester F1) and the development mail folder live there.
with contextlib.suppress(OSError):  # a read-only install: whoever runs it names other paths
    VAR_DIR.mkdir(exist_ok=True)


class _Env(environ.Env):
    """django-environ, but a number that is not one, or is negative, stops start-up with the
    variable's name (a typo surfaced as a traceback from deep inside, or not at all).

    So does 0, unless the setting says it may be (``zero=True``: 0 turns something off):
    a size, a timeout, a window or a count of 0 broke the site quietly (no thread to answer,
    every request 408, every report a division by zero, a beat flooding its broker; infra
    review F3)."""

    def int(  # type: ignore[override]
        self, var: str, default: int = environ.Env.NOTSET, *, zero: bool = False
    ) -> int:
        return self._number(var, default, int, "a whole number", zero)

    def float(  # type: ignore[override]
        self, var: str, default: float = environ.Env.NOTSET, *, zero: bool = False
    ) -> float:
        return self._number(var, default, float, "a number", zero)

    def json(self, var: str, default: Any = environ.Env.NOTSET) -> Any:  # type: ignore[override]
        try:
            return super().json(var, default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} must be JSON: {exc}.") from None

    def email_url(  # type: ignore[override]
        self, var: str = "EMAIL_URL", default: Any = environ.Env.NOTSET
    ) -> dict[str, Any]:
        # django-environ's own errors name neither the variable nor what it expects, under a
        # 58-line traceback (operator tester, fiftieth session). Its reason (a scheme, a port)
        # is kept; the URL itself is not repeated, as it holds the password.
        try:
            return super().email_url(var, default)
        except (ImproperlyConfigured, ValueError) as exc:
            raise ImproperlyConfigured(
                f"{var} must be a URL such as smtp+tls://user:password@smtp.example:587 or "
                f"consolemail:// ({str(exc).strip()})."
            ) from None

    def _number(self, var: str, default: object, kind: type, words: str, zero: bool) -> Any:
        try:
            value = super().int(var, default) if kind is int else super().float(var, default)
        except ValueError:
            raise ImproperlyConfigured(
                f"{var} must be {words}, not {os.environ.get(var, '')!r}."
            ) from None
        if value < 0:
            raise ImproperlyConfigured(f"{var} must not be negative, not {value}.")
        if value == 0 and not zero:
            least = "at least 1" if kind is int else "above 0"
            raise ImproperlyConfigured(f"{var} must be {least}.")
        return value


env = _Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable; a typo such as DEBUG=flase stops start-up instead of guessing."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str:
    """A rate limit as DRF reads it ("10/min"): a typo made every request it limits a 500."""
    raw = env.str(name, default=default).strip()
    if not _RATE.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 10/min (a count per s, min, hour or day), not {raw!r}."
        )
    return raw


# Off unless asked for: a forgotten variable must not serve tracebacks or a public key.
DEBUG: bool = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY: str = env.str("SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = _DEV_SECRET_KEY
# Earlier keys still accepted for links already mailed (confirm, unsubscribe, manage) while a
# rotated key takes over; signed with SECRET_KEY only. Comma-separated.
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])
# Read by outagewatch.startup: Django itself raises on any access to an empty SECRET_KEY.
# The development key is published in this file: in production it is as good as none.
SECRET_KEY_MISSING: bool = not SECRET_KEY or (not DEBUG and SECRET_KEY == _DEV_SECRET_KEY)
# Without DEBUG an empty key is not replaced: sessions, CSRF tokens, signed links and reporter
# hashes all derive from it, so running on a well-known key would void all of them. The web
# server, the Celery processes and every checked management command refuse to start
# (outagewatch.startup); offline tools that sign nothing (detect_series) still run.

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
CSRF_FAILURE_VIEW = "outagewatch.http.errors.csrf_failure"

INSTALLED_APPS = [
    "outagewatch.apps.OutageWatchConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "reports",
    "detection",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP and Permissions-Policy on every answer, the guards' own included.
    "outagewatch.http.middleware.SecurityHeadersMiddleware",
    # Development mode only (it leaves the chain without DEBUG): JSON 404s under /api/ there too.
    "outagewatch.http.middleware.DebugApiNotFoundMiddleware",
    # NUL bytes in query strings, API bodies too large or chunked: refused or read here.
    "outagewatch.http.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, but an API path without its final slash is a JSON 404, not a redirect.
    "outagewatch.http.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "outagewatch.http.middleware.AdminLoginRateLimitMiddleware",
    "outagewatch.http.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "outagewatch.urls"
WSGI_APPLICATION = "outagewatch.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if "." not in DATABASES["default"]["ENGINE"]:  # a scheme django-environ does not know
    raise ImproperlyConfigured(
        f"DATABASE_URL names an unknown kind of database "
        f"{DATABASES['default']['ENGINE']!r}: use postgres://user:password@host:5432/name "
        "or sqlite:////path/to/file.sqlite3."
    )
# Threads per production web process for the sync views (outagewatch.asgi_threads): requests
# beyond them wait on the event loop. Chosen by measurement, bench/load/README.md.
WEB_THREADS: int = env.int("WEB_THREADS", default=32)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and beat share one SQLite file: WAL lets
    # readers run beside the writer, IMMEDIATE transactions and a generous
    # timeout make concurrent writers wait instead of failing with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so end-to-end tests can share it with server processes.
    # Per process, so two test runs side by side do not share (and corrupt) one file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif env_bool("DB_POOL", False):
    # The web server (outagewatch.asgi turns this on): a pool per process hands a connection
    # to each request and takes it back, so a thread that is not serving a request holds
    # none, and a connection that died is replaced by the pool instead of failing a request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool replaces persistent connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2, zero=True),
        # Fewer than the request threads: most requests never touch the database (cached
        # reads; reports are written by one thread per batch, outagewatch.group_commit), and
        # WEB_CONCURRENCY x this must stay under PostgreSQL's max_connections (100 by default).
        "max_size": env.int("DB_POOL_MAX_SIZE", default=min(WEB_THREADS, 16)),
        # A request waits at most this long for a connection, then fails (503): also how
        # long answers take while the database is down.
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    }
    # Each connection is checked (one empty round trip) as it is handed out, and one found
    # dead (a database restart, a failover) has the pool opened afresh: each had failed a
    # request with a 503 while the database was back (outagewatch/pooled_postgresql).
    DATABASES["default"]["ENGINE"] = "outagewatch.pooled_postgresql"
    # Django opens psycopg connections with prepared statements off (poolers in transaction
    # mode before PgBouncer 1.21 cannot hold them). Its ORM queries are never prepared either
    # way (client-side binding); this lets the report write, sent through psycopg's own
    # cursor, be planned once per pooled connection: planning it each time cost more than
    # running it (bench/load/README.md, "Planned once"). Not for the Celery processes: the
    # tick's one-off bulk statements measured slower prepared (bench/scale/README.md).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        5 if env_bool("DB_PREPARED_STATEMENTS", True) else None
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60, zero=True)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `migrate` on PostgreSQL (outagewatch/management/commands/migrate.py) runs while the site
# serves: a migration that needs a table's exclusive lock queued behind a long read (the
# nightly pg_dump) and every report queued behind it. It waits this long for a lock, gives up
# (its transaction rolled back), lets the queue drain for the pause, and tries again, this
# many tries in all. 0 seconds: wait as long as it takes (Django's own behaviour).
MIGRATE_LOCK_TIMEOUT_SECONDS: float = env.float(
    "MIGRATE_LOCK_TIMEOUT_SECONDS", default=3.0, zero=True
)
MIGRATE_LOCK_TRIES: int = env.int("MIGRATE_LOCK_TRIES", default=10)
MIGRATE_LOCK_PAUSE_SECONDS: float = env.float("MIGRATE_LOCK_PAUSE_SECONDS", default=10.0, zero=True)

# --- Redis: cache (throttles, hot reads) and Celery broker ----------------------
REDIS_URL: str = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Production names its Redis even when it is this one (`check --deploy` warns otherwise).
REDIS_URL_DEFAULTED = "REDIS_URL" not in os.environ
# A cache call gives up after this long: every page and report asks the cache, and a Redis
# that hangs (not down: frozen, or its host unreachable) otherwise held each call for 5 s.
REDIS_SOCKET_TIMEOUT: float = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
CACHES = {
    "default": {
        # Django's RedisCache, with one client and connection pool per process.
        "BACKEND": "outagewatch.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ow"),
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise; nothing comes from a CDN) ------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) ---------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A load balancer's or monitor's probe goes to the app's port over plain HTTP: a redirect
    # to https is no answer (it read as a failed check). The answers hold no secret.
    SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/"]
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000, zero=True)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", True):
        # The app sits behind a TLS-terminating proxy that sets this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Security headers (outagewatch.http.middleware.SecurityHeadersMiddleware) ------------
# The site loads nothing from other origins and has no inline scripts or styles.
CONTENT_SECURITY_POLICY: str = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
# Swagger UI (drf-spectacular-sidecar, same origin) styles itself inline and uses data: images;
# its "Try it out" asks the schema's server, SITE_URL, which is another origin when the docs
# are read under a second allowed name (localhost for 127.0.0.1).
_SITE_ORIGIN = "://".join(urlsplit(SITE_URL)[:2])
CSP_API_DOCS: str = env.str(
    "CSP_API_DOCS",
    default="default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    f"connect-src 'self' {_SITE_ORIGIN}; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'",
)
PERMISSIONS_POLICY: str = env.str(
    "PERMISSIONS_POLICY",
    default="accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()",
)


# Reverse proxies in front of the app, by address (CIDRs, comma-separated). X-Forwarded-For
# is believed only for hops appended by these; with none, REMOTE_ADDR is the client. A hop
# count (the old NUM_PROXIES) let anyone who reached the app directly forge their address.
def _cidrs(name: str) -> list[str]:
    values = env.list(name, default=[])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or CIDR.") from None
    return values


TRUSTED_PROXIES: list[str] = _cidrs("TRUSTED_PROXIES")
if "NUM_PROXIES" in os.environ:
    raise ImproperlyConfigured(
        "NUM_PROXIES is no longer read: name your proxies' addresses in TRUSTED_PROXIES "
        "(e.g. TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1)."
    )
# Optional header set by a CDN/proxy with the client's country (e.g. CF-IPCountry).
COUNTRY_HEADER: str = env.str("COUNTRY_HEADER", default="HTTP_CF_IPCOUNTRY")

# --- Email --------------------------------------------------------------------------
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
elif "EMAIL_HOST" in env:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
else:
    # Development: every email lands as a file under var/mail/ where it can be read.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    # Django's, waiting longer for the reply to a message's end (alerts.channels.smtp).
    EMAIL_BACKEND = "alerts.channels.smtp.EmailBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The relay's reply to the end of a message, which it may scan first (RFC 5321 asks a client
# to wait ten minutes): within ALERT_SENDING_STALE_SECONDS, with the other steps' timeouts.
EMAIL_DATA_TIMEOUT = env.int("EMAIL_DATA_TIMEOUT", default=300)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OutageWatch <alerts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Reports ------------------------------------------------------------------------
# A reporter's further reports for one service inside this window are stored but
# not counted, so one person counts once.
REPORT_DEDUP_WINDOW_MINUTES: int = env.int("REPORT_DEDUP_WINDOW_MINUTES", default=15)
# One block (IPv4 /16, IPv6 /32: one provider's range) adds at most this many counted reports
# per service per block window, however many of its networks report (reports.networks).
REPORT_BLOCK_MAX_COUNTED: int = env.int("REPORT_BLOCK_MAX_COUNTED", default=4)
REPORT_BLOCK_WINDOW_MINUTES: int = env.int("REPORT_BLOCK_WINDOW_MINUTES", default=60)
REPORT_COMMENT_MAX_LENGTH = 280
# The catalog (services and their problem types) is held in each web process (reports.cache):
# it asks Redis whether an edit was announced at most this often (0: on every request), and
# reloads it from the database at least this often whatever Redis says.
CATALOG_CHECK_SECONDS: float = env.float("CATALOG_CHECK_SECONDS", default=1.0, zero=True)
CATALOG_MAX_AGE_SECONDS: float = env.float("CATALOG_MAX_AGE_SECONDS", default=300.0, zero=True)
# Bodies larger than this are refused with 413 before they are parsed.
API_MAX_BODY_BYTES: int = env.int("API_MAX_BODY_BYTES", default=16 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
# The production server refuses a request whose body has not arrived within this (408), so
# a client trickling bytes cannot hold a connection's resources for long (outagewatch.asgi).
REQUEST_BODY_TIMEOUT_SECONDS: float = env.float("REQUEST_BODY_TIMEOUT_SECONDS", default=30.0)

# --- REST API -----------------------------------------------------------------------
# An IPv6 client's /48 may send this many times one client's (its /64's) rate limit: one
# machine can hold a whole /48 (outagewatch.api.throttling).
THROTTLE_IPV6_SITE_FACTOR: int = env.int("THROTTLE_IPV6_SITE_FACTOR", default=10)
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "outagewatch.api.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["outagewatch.api.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["outagewatch.api.throttling.ScopedClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "reports": env_rate("THROTTLE_REPORTS", default="10/min"),
        "reads": env_rate("THROTTLE_READS", default="300/min"),
        "subscriptions": env_rate("THROTTLE_SUBSCRIPTIONS", default="5/hour"),
        # POSTs to /admin/login/ per client (outagewatch.http.middleware).
        "admin-login": env_rate("THROTTLE_ADMIN_LOGIN", default="10/hour"),
    },
    "DEFAULT_PAGINATION_CLASS": "outagewatch.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "outagewatch.api.errors.exception_handler",
    # drf-spectacular's, plus the headers every view shares (Retry-After, ETag, ...).
    "DEFAULT_SCHEMA_CLASS": "outagewatch.api.openapi.ApiSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OutageWatch API",
    "DESCRIPTION": "Crowd-sourced outage detection: submit problem reports, read outages.",
    # The v1 contract's version (README, "Compatibility within v1"): the major is the URL's,
    # the minor moves when something is added, the patch when only the words are corrected.
    "VERSION": "1.2.0",
    # Where a generated client sends its requests: without it generators fall back to their
    # own default (openapi-generator: http://localhost).
    "SERVERS": [{"url": SITE_URL}],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Every read, the indexes and the schema (a dashboard or a schema viewer on another origin
# reads them); never the posts, so no page elsewhere can submit on its visitors' behalf.
CORS_URLS_REGEX = r"^/api/(?:schema/|v1/(?!reports/|subscriptions/).*)?$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
# Browser dashboards poll with If-None-Match (the reads' ETags), back off by Retry-After and
# resume the outage list from X-Updated-Until: a script sees none of these headers unless it
# is exposed, and the preflight must allow the first.
CORS_ALLOW_HEADERS = ["accept", "if-none-match", "user-agent"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "X-Updated-Until"]

# --- Celery -------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a worker that dies mid-task leaves it
# to be delivered again; every task is idempotent for that reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
# The minute tick has a queue of its own, for one worker process (`--queues=detection
# --concurrency=1`): the tick keeps what it committed (decoded states, the window of buckets,
# the baselines' core runs) in its process for the next minute, which helps only if the next
# minute runs in the same process (100k series: 9.7 s after its own tick, 13.5 s after
# another process's; bench/scale/README.md). A worker started without --queues consumes both,
# so a single plain worker still runs everything.
CELERY_TASK_QUEUES = (
    Queue("celery", routing_key="celery"),
    Queue("detection", routing_key="detection"),
)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "detection.tasks.detect_minute": {"queue": "detection"},
    # Run by the detector's own process, where the tick keeps its baselines.
    "detection.tasks.detector_prime": {"queue": "detection"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Bucket the reports of the minute that just closed and judge it: detection within
    # a minute or two of an onset depends on this running every minute.
    "detect-minute": {"task": "detection.tasks.detect_minute", "schedule": crontab(minute="*")},
    # New and young series get a real baseline as soon as they have history for one.
    "baselines-refit-cold": {
        "task": "detection.tasks.baselines_refit",
        "schedule": crontab(minute="*/15"),
        "kwargs": {"only_cold": True},
    },
    # Nightly refit of every series' seasonal baseline, at the quietest hour for most users,
    # as a chain of tasks of BASELINE_REFIT_BATCH_SIZE series.
    "baselines-refit-all": {
        "task": "detection.tasks.baselines_refit",
        "schedule": crontab(hour=3, minute=17),
    },
    # Send every alert and confirmation email that is due: SMTP retries, ends of cool-downs
    # and grace periods (their rows' next_attempt_at), and sends lost with Redis or a dead
    # worker. The only timer for email: no task waits in the broker with a countdown.
    "alerts-sweep": {
        "task": "alerts.tasks.alerts_sweep",
        "schedule": crontab(minute="*"),
    },
    # Forget sign-ups never confirmed within SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS (their links
    # have expired); daily, off the hour the other nightly jobs use.
    "subscriptions-purge": {
        "task": "alerts.tasks.subscriptions_purge",
        "schedule": crontab(hour=4, minute=37),
    },
    # The record of messages about outages over ALERT_DELIVERY_KEEP_DAYS ago.
    "deliveries-purge": {
        "task": "alerts.tasks.deliveries_purge",
        "schedule": crontab(hour=4, minute=27),
    },
    # Expired sessions (manage pages, the admin): Django leaves them in the database.
    "sessions-purge": {
        "task": "outagewatch.tasks.sessions_purge",
        "schedule": crontab(hour=4, minute=47),
    },
    # Raw reports and minute buckets past retention; hourly rollups are kept.
    "retention-purge": {
        "task": "detection.tasks.retention_purge",
        "schedule": crontab(hour=4, minute=7),
    },
    # Official status pages: claim the sources whose next poll is due (their rows hold the
    # poll interval and any backoff; each host's budget caps requests per minute) and queue
    # one poll each. Runs more often than OFFICIAL_POLL_SECONDS so a poll is late by at most
    # this much.
    "official-sweep": {
        "task": "detection.official.tasks.official_sweep",
        "schedule": timedelta(seconds=env.float("OFFICIAL_SWEEP_SECONDS", default=30.0)),
    },
}
# Task modules outside an app's tasks.py (autodiscovery finds only those).
CELERY_IMPORTS = ["detection.official.tasks"]

# --- Detection --------------------------------------------------------------------------
# Every aggregation re-counts this many minutes before its watermark, for late commits.
BUCKET_LATE_MINUTES: int = env.int("BUCKET_LATE_MINUTES", default=5, zero=True)
# A country series without reports for this long stops being ticked.
SERIES_IDLE_DAYS: int = env.int("SERIES_IDLE_DAYS", default=7)
# A (service, country) pair is a series of its own only after counted reports naming it came
# from this many distinct sites (IPv4 /24, IPv6 /48) within SERIES_IDLE_DAYS; before, it
# counts overall only. SERIES_MIN_COUNTED, its name before sites were counted, still sets it.
# Five: one more than the sites one host can hold (its IPv4, its own IPv6 /48, a tunnel
# broker's /48, a phone's mobile network; detection.core.networks.BEYOND_ONE_HOST). With
# three, one host made 95 series in a minute, about a thousand an hour (abuse tester, fiftieth
# session).
SERIES_MIN_SITES: int = env.int(
    "SERIES_MIN_SITES", default=env.int("SERIES_MIN_COUNTED", default=5)
)
# GET /api/v1/health/ answers 503 when counting or judging minutes falls further behind the
# clock than this (a stopped worker or detector; the pages keep their last verdict meanwhile).
HEALTH_MAX_LAG_MINUTES: int = env.int("HEALTH_MAX_LAG_MINUTES", default=3)
# At most this many cold (not yet seasonal) baselines are fitted per 15-minute cold refit.
BASELINE_COLD_REFITS_PER_RUN: int = env.int("BASELINE_COLD_REFITS_PER_RUN", default=200)
# Series per task of the nightly refit (about 0.6 s each when seasonal): each task of its
# chain well within the broker's visibility timeout.
BASELINE_REFIT_BATCH_SIZE: int = env.int("BASELINE_REFIT_BATCH_SIZE", default=200)
# 0 (now refused) had the nightly purge delete every report up to the minute, those the
# counting of the last dedup window and the late recount still read.
REPORT_RETENTION_DAYS: int = env.int("REPORT_RETENTION_DAYS", default=90)
# Minute buckets must outlive the baseline's history window (28 days); hourly rollups stay.
BUCKET_RETENTION_DAYS: int = env.int("BUCKET_RETENTION_DAYS", default=35)
# Hourly rollups (long charts, old outages' pages): 0 keeps them for ever (about 2.6 MB a
# year per series reported every hour); else at least the 30-day chart's span.
HOURLY_BUCKET_RETENTION_DAYS: int = env.int("HOURLY_BUCKET_RETENTION_DAYS", default=0, zero=True)
if 0 < HOURLY_BUCKET_RETENTION_DAYS < 31:
    raise ImproperlyConfigured(
        "HOURLY_BUCKET_RETENTION_DAYS must be 0 (keep) or at least 31: the 30-day charts read them."
    )
# Problems need an excess from at least this many distinct networks (more for busy series:
# detection.core.networks); one machine, office or rented range cannot fake an outage. Five:
# one more than the sites one host can hold (detection.core.networks.BEYOND_ONE_HOST).
OUTAGE_MIN_NETWORKS: int = env.int("OUTAGE_MIN_NETWORKS", default=5)
# The detector's process keeps the memory it frees for its next minute instead of returning
# it to the kernel (outagewatch/allocator.py): its RSS then stays at its peak between minutes.
DETECTOR_KEEP_FREED_MEMORY: bool = env_bool("DETECTOR_KEEP_FREED_MEMORY", True)
# Overrides of detection.core.DetectorConfig defaults, as JSON, e.g. {"quiet_minutes": 20}.
DETECTOR_OVERRIDES: dict = env.json("DETECTOR_OVERRIDES", default={})
if not isinstance(DETECTOR_OVERRIDES, dict):
    raise ImproperlyConfigured(
        'DETECTOR_OVERRIDES must be a JSON object of settings, e.g. {"quiet_minutes": 20}.'
    )
# Problems that return within this many minutes of an outage's end are the same outage: the
# detector reopens it (its reopen_minutes) and alerts write "problems again" in the thread of
# its "detected" and "resolved" messages instead of announcing a new outage. One setting read
# by both, so the "resolved" notice need not wait for the window to pass.
OUTAGE_REOPEN_MINUTES: int = env.int("OUTAGE_REOPEN_MINUTES", default=30, zero=True)
# Detector settings that are another setting's, which DETECTOR_OVERRIDES would beat silently
# (contributor tester, forty-sixth session): the variable to set, and why.
_SET_ELSEWHERE = {
    "reopen_minutes": "OUTAGE_REOPEN_MINUTES: alerts read it too",
    "min_networks_outage": "OUTAGE_MIN_NETWORKS",
    "network_window_minutes": "REPORT_DEDUP_WINDOW_MINUTES: it must be ingestion's dedup window",
}
for _name in DETECTOR_OVERRIDES.keys() & _SET_ELSEWHERE.keys():
    raise ImproperlyConfigured(f"Set {_SET_ELSEWHERE[_name]} (not {_name} in DETECTOR_OVERRIDES).")

# --- Alerts -----------------------------------------------------------------------------
# Where the development (filebased) backend writes emails; tests point it at a temp dir.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=EMAIL_FILE_PATH)
# Double opt-in: a confirmation link stays valid this long (and works once); sign-ups not
# confirmed by then are purged.
SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS: int = env.int("SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS", default=7)
# Anyone can type anyone's address: at most this many confirmation emails per mailbox and
# day (all services together; plus tags and Gmail dots do not make a new mailbox), and none
# again for the same service within the resend gap after one that actually left.
SUBSCRIPTION_CONFIRMATIONS_PER_DAY: int = env.int("SUBSCRIPTION_CONFIRMATIONS_PER_DAY", default=5)
# A request over that cap is not dropped: its link waits this long, so a burst is gathered,
# then goes with every other waiting one of the mailbox in one email listing them all; at
# most one such email per mailbox and day (later requests wait for the next day's).
SUBSCRIPTION_CONFIRM_GATHER_MINUTES: int = env.int(
    "SUBSCRIPTION_CONFIRM_GATHER_MINUTES", default=10, zero=True
)
# Links in one such email: the oldest go, the rest wait for the next day's. Anyone can fill
# the list with someone else's address, so it stays a readable email, not thousands of links.
# At most two lists' worth wait per mailbox (each link then leaves within about two days,
# with most of its SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS left); requests past that are refused
# (429), not kept to expire unsent.
SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS: int = env.int(
    "SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS", default=20
)
# Gathered links wait up to two days for their list (alerts.services.subscriptions): a link
# that lived no longer would expire unsent, a request dropped after all.
if SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS < 3:
    raise ImproperlyConfigured(
        "SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS must be at least 3: links gathered over the daily "
        "cap wait up to two days for their email."
    )
SUBSCRIPTION_CONFIRM_RESEND_MINUTES: int = env.int(
    "SUBSCRIPTION_CONFIRM_RESEND_MINUTES", default=15, zero=True
)
# A sign-up is answered no sooner than this, whatever it did: one for an address that already
# gets these alerts does less work, and its speed told whether an address is subscribed.
# Well above the slower path's time (10-20 ms on an idle machine), well below what a person
# notices. 0: no padding (tests).
SUBSCRIPTION_ANSWER_MIN_SECONDS: float = env.float(
    "SUBSCRIPTION_ANSWER_MIN_SECONDS", default=0.25, zero=True
)
# An unsubscribed address is forgotten this long after it left (the daily purge): until then
# its unsubscribe link still says "unsubscribed" and a message already in the outbox is
# skipped, not sent to an address that is gone. 0: at the next purge.
# The record of each message sent (or skipped, or failed) about an outage over this long ago;
# the rules that read it (cool-downs, reopening, "was it told") look back hours, not months.
ALERT_DELIVERY_KEEP_DAYS: int = env.int("ALERT_DELIVERY_KEEP_DAYS", default=90)
SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS: int = env.int(
    "SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS", default=30, zero=True
)
# A subscriber hears about a new outage of the same service at most once per cool-down; an
# outage that starts inside it is held until it ends and dropped if it is over by then.
ALERT_COOLDOWN_MINUTES: int = env.int("ALERT_COOLDOWN_MINUTES", default=60, zero=True)
# SMTP failures (alerts and confirmations): retry with exponential backoff (base * 2**n,
# capped) up to a maximum; the sweeper sends each retry when its row says it is due. 54
# attempts at the default backoff span a day: a mail relay or endpoint down for less loses
# no message (8, an hour, gave up on every email of a longer relay outage). A message that
# is no longer true by then (an outage over before its alert went) is skipped, not sent.
ALERT_MAX_ATTEMPTS: int = env.int("ALERT_MAX_ATTEMPTS", default=54)
ALERT_RETRY_BACKOFF_SECONDS: int = env.int("ALERT_RETRY_BACKOFF_SECONDS", default=30)
ALERT_RETRY_BACKOFF_MAX_SECONDS: int = env.int("ALERT_RETRY_BACKOFF_MAX_SECONDS", default=1800)
# A claim ('sending') older than this belongs to a crashed worker and may be taken over;
# above EMAIL_DATA_TIMEOUT and the other steps' EMAIL_TIMEOUT, so a slow but live send is
# never doubled.
ALERT_SENDING_STALE_SECONDS: int = env.int("ALERT_SENDING_STALE_SECONDS", default=600)
# Webhook, Slack and Discord channels: one deadline for each POST's whole exchange (name
# lookup, connect, TLS, request and answer: outagewatch.outbound); at most this much of an
# answer is read (redirects are never followed).
ALERT_HTTP_TIMEOUT_SECONDS: float = env.float("ALERT_HTTP_TIMEOUT_SECONDS", default=10.0)
ALERT_HTTP_MAX_RESPONSE_BYTES: int = env.int("ALERT_HTTP_MAX_RESPONSE_BYTES", default=65536)
# Webhooks go only to public addresses; loopback (127.0.0.1, ::1) too when this is on, for a
# receiver on the same machine: on by default in development (DEBUG), off in production.
# Private networks: never.
ALERT_HTTP_ALLOW_LOOPBACK: bool = env_bool("ALERT_HTTP_ALLOW_LOOPBACK", DEBUG)
# A channel whose messages fail for good this many times in a row (404, gone, refused address,
# retries exhausted) is disabled and its owner told by email.
ALERT_CHANNEL_MAX_FAILURES: int = env.int("ALERT_CHANNEL_MAX_FAILURES", default=3)
# After "Make a new secret" on a webhook's page, the old secret keeps signing beside the new
# one (two values in X-OutageWatch-Signature) for this many hours, so messages sent before the
# receiver has the new secret still verify; 0: the old one stops at once. The owner can
# still cut over at once (a leaked secret).
WEBHOOK_SECRET_OVERLAP_HOURS: int = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24, zero=True)

# --- Official status (detection.official, docs/official-status.md) ----------------------------
# Each status source is polled this often while it answers; failures back off exponentially
# (the interval * 2**failures) up to the maximum, and the first good poll resets it.
OFFICIAL_POLL_SECONDS: int = env.int("OFFICIAL_POLL_SECONDS", default=120)
OFFICIAL_BACKOFF_MAX_SECONDS: int = env.int("OFFICIAL_BACKOFF_MAX_SECONDS", default=3600)
# Requests per status host and minute, all its sources together (status.io serves every page
# from one API host; one provider's pages share theirs).
OFFICIAL_HOST_REQUESTS_PER_MINUTE: int = env.int("OFFICIAL_HOST_REQUESTS_PER_MINUTE", default=6)
# One deadline for the whole request, name lookup to the body's last byte; larger bodies are
# refused.
# Short: status pages sit behind CDNs, and a slow one must not hold a worker the tick needs.
OFFICIAL_HTTP_TIMEOUT_SECONDS: float = env.float("OFFICIAL_HTTP_TIMEOUT_SECONDS", default=5.0)
OFFICIAL_MAX_BODY_BYTES: int = env.int("OFFICIAL_MAX_BODY_BYTES", default=2_000_000)
# Status pages are fetched from public addresses only; loopback too when this is on (a fake
# status server in tests and development): on with DEBUG, off in production.
OFFICIAL_HTTP_ALLOW_LOOPBACK: bool = env_bool("OFFICIAL_HTTP_ALLOW_LOOPBACK", DEBUG)
# A claimed poll not finished within this is taken as lost with its worker and claimed again.
OFFICIAL_CLAIM_SECONDS: int = env.int("OFFICIAL_CLAIM_SECONDS", default=300)
# Without a good read for this long the official status is shown as stale, not current.
OFFICIAL_STALE_SECONDS: int = env.int("OFFICIAL_STALE_SECONDS", default=900)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").strip().upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not "
        f"{os.environ.get('LOG_LEVEL', '')!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "disallowed_host": {"()": "outagewatch.log_filters.DisallowedHostFilter"},
        "health_probe": {"()": "outagewatch.log_filters.HealthProbeFilter"},
        "client_error": {"()": "outagewatch.log_filters.ClientErrorFilter"},
        "token_path": {"()": "outagewatch.log_filters.TokenPathFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            # No subscription link's token in any line, whichever logger wrote it.
            "filters": ["token_path"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Through the root's handler only: Django's own console handler (DEBUG on) printed each
        # of its lines a second time, and its mail_admins has no ADMINS to write to.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # A foreign Host header: one WARNING line, no traceback, no client address.
        "django.security.DisallowedHost": {"filters": ["disallowed_host"]},
        # A 4xx: at most one line a minute per status, with a count (ClientErrorFilter).
        "django.request": {"filters": ["health_probe", "client_error"]},
    },
}
