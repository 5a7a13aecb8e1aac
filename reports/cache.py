"""The service catalog held in process: what report ingestion looks up on every request.

A report names a service and a problem type by slug; asking the database for them on every
request cost two queries (the service, its problem types). The catalog changes rarely (the
admin, `catalog_load`), so each process keeps it in memory and reloads it when it changes:

- Every save or delete of a service, problem type or category and every change of a
  service's problem types drops this process's copy at once and, after the transaction
  commits, writes a new token under VERSION_KEY in Redis (reports.signals). The token is
  written after the commit, so a process that sees it reloads rows that include the change.
- Other processes compare their copy's token with Redis at most every
  CATALOG_CHECK_SECONDS (one GET; 0 checks on every request), so an edit reaches every web
  process within that time. A token that is gone (Redis restarted or flushed) is replaced
  by a new one, which makes every process reload.
- A copy is never older than CATALOG_MAX_AGE_SECONDS, whatever the token says: edits that
  send no signal (QuerySet.update(), raw SQL, data migrations) are picked up too, and while
  Redis is down the catalog is reloaded from the database at that pace.

The copy also holds the former slugs of renamed services (reports.catalog_renames): a report
naming one is the renamed service's. Saving or deleting a FormerSlug row announces a change
like the rest (reports.signals), so an edit of former slugs in the admin reaches every process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from outagewatch.http.errors import DATABASE_ERRORS
from outagewatch.redis_rest import redis_failed, redis_resting
from reports.models import FormerSlug, ProblemType, Service

logger = logging.getLogger(__name__)
VERSION_KEY = "reports:catalog-version"


@dataclass(frozen=True)
class CatalogService:
    """One active service with the problem types people can report about it."""

    service: Service
    problems: dict[str, ProblemType]  # by slug

    @property
    def problem_slugs(self) -> list[str]:
        return sorted(self.problems)


@dataclass(frozen=True)
class Catalog:
    services: dict[str, CatalogService]  # active services by slug
    renamed: dict[str, str]  # an active service's slug by each of its former slugs
    version: str | None  # the Redis token it was loaded under; None: Redis was down
    loaded_at: float  # _clock()


_lock = threading.Lock()
_clock = time.monotonic  # tests move it
_current: Catalog | None = None
_checked_at = 0.0
# The last load that failed (when, what): the threads queued on the lock behind it take its
# answer for as long as one wait for the database (_one_wait) instead of each waiting in turn.
DEFAULT_WAIT = 3.0
_failed: tuple[float, Exception] | None = None


def catalog_get() -> Catalog:
    """The active catalog: this process's copy, reloaded when an edit has been announced."""
    global _current, _checked_at
    current, now = _current, _clock()
    if current is not None and now - current.loaded_at < settings.CATALOG_MAX_AGE_SECONDS:
        if now - _checked_at < settings.CATALOG_CHECK_SECONDS:
            return current
        version = _version()
        # Redis down (None): keep the copy until it is too old; no process can announce.
        if version is None or version == current.version:
            _checked_at = now
            return current
    with _lock:
        # The version is read before the rows: an edit committed in between bumps it
        # again, so the copy is reloaded once more rather than kept stale.
        version = _version()
        if _current is not None and _current is not current and _current.version == version:
            return _current  # another thread reloaded meanwhile
        return _reload(current, version)


def _reload(current: Catalog | None, version: str | None) -> Catalog:
    """A fresh copy, under the lock. While the database is down, the copy this process has
    (however old) rather than none, and one wait for all: each request queued on the lock
    waited DB_POOL_TIMEOUT in turn, the fifth 28 s for its 503, and clients timed out
    instead (durability tester F3)."""
    global _current, _checked_at, _failed
    if _failed is not None and _clock() - _failed[0] < _one_wait():
        if current is not None:
            return current
        raise _failed[1]
    try:
        loaded = Catalog(
            services=_load(), renamed=_renamed_load(), version=version, loaded_at=_clock()
        )
    except DATABASE_ERRORS as exc:
        _failed = (_clock(), exc)
        if current is None:
            raise
        logger.warning("Catalog not reloaded (%s); this process keeps its copy", exc)
        return current
    _failed = None
    _current = loaded
    _checked_at = loaded.loaded_at
    return loaded


def _one_wait() -> float:
    """How long one request waits for the database before it fails: the web server's pool's
    timeout (DB_POOL_TIMEOUT), DB_POOL_TIMEOUT's default elsewhere."""
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    return float(pool.get("timeout", DEFAULT_WAIT)) if isinstance(pool, dict) else DEFAULT_WAIT


def catalog_service(slug: str) -> CatalogService | None:
    """The active service with this slug or, once renamed, with this former slug."""
    catalog = catalog_get()
    return catalog.services.get(slug) or catalog.services.get(catalog.renamed.get(slug, ""))


def catalog_renamed(slug: str) -> str | None:
    """The current slug of the active service `slug` is a former slug of; None when it is
    none (or is a current slug itself)."""
    catalog = catalog_get()
    return None if slug in catalog.services else catalog.renamed.get(slug)


def catalog_forget() -> None:
    """Drop this process's copy (the next read reloads it, whatever the last load did)."""
    global _current, _failed
    _current = None
    _failed = None


_unannounced_logged_at = -math.inf


def catalog_version_bump() -> None:
    """Announce a committed catalog edit to every process."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except RedisError as exc:
        # The other processes reload within CATALOG_MAX_AGE_SECONDS anyway. One line a minute,
        # no traceback: `make run` loads the catalog (an edit per row) before Redis runs.
        global _unannounced_logged_at
        now = time.monotonic()
        if now - _unannounced_logged_at >= 60:
            _unannounced_logged_at = now
            logger.warning(
                "Cache unavailable (%s); catalog edits not announced: running processes"
                " pick them up within %g s",
                exc,
                settings.CATALOG_MAX_AGE_SECONDS,
            )


def _version() -> str | None:
    if redis_resting():  # it failed a moment ago (outagewatch.redis_rest)
        return None
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
        return version
    except RedisError as exc:
        redis_failed(exc)
        return None


def _load() -> dict[str, CatalogService]:
    services = (
        Service.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related("problem_types")
    )
    return {
        service.slug: CatalogService(
            service=service,
            problems={problem.slug: problem for problem in service.problem_types.all()},
        )
        for service in services
    }


def _renamed_load() -> dict[str, str]:
    # A current slug wins over a former one (a slug reused for a new service, even retired).
    former = FormerSlug.objects.filter(service__is_active=True).exclude(
        slug__in=Service.objects.values("slug")
    )
    return dict(former.values_list("slug", "service__slug"))
