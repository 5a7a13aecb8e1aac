"""Writes: report ingestion and comment moderation."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import F, Model
from django.utils import timezone

from outagewatch.group_commit import GroupCommit
from reports import intake
from reports.cache import catalog_forget
from reports.models import (
    BlockWindow,
    CommentFlag,
    FormerSlug,
    ProblemType,
    Report,
    ReporterWindow,
    Service,
)
from reports.networks import block_window_end, network_keys


class Uncounted(enum.StrEnum):
    """Why a stored report was not counted."""

    NONE = ""  # it was counted
    REPEAT = "repeat"  # its site had a counted report for the service in the dedup window
    BLOCK = "block"  # its block had added as many counted reports as it may this window
    UNCHECKED = "unchecked"  # the guards could not be checked (the rate limit's Redis)


@dataclass(frozen=True)
class ReportCreated:
    report: Report
    uncounted: Uncounted = Uncounted.NONE

    @property
    def counted(self) -> bool:
        return self.report.counted

    @property
    def message(self) -> str:
        if self.counted:
            return f"Thanks — your report about {self.report.service.name} was counted."
        return self._why_uncounted() + self._comment_unshown()

    def _why_uncounted(self) -> str:
        name = self.report.service.name
        stored = f"Thanks — we stored your report about {name}."
        if self.uncounted is Uncounted.BLOCK:
            return (
                f"{stored} Your provider's network has added as many reports about {name} as "
                f"it may in {settings.REPORT_BLOCK_WINDOW_MINUTES} minutes, so it is kept "
                "without counting."
            )
        if self.uncounted is Uncounted.UNCHECKED:
            return (
                f"{stored} We could not check it against the limits just now, so it is kept "
                "without counting."
            )
        return (
            f"{stored} Reports from one network count once every "
            f"{settings.REPORT_DEDUP_WINDOW_MINUTES} minutes, and one from yours was counted "
            "already."
        )

    def _comment_unshown(self) -> str:
        # Only counted reports' comments are shown (reports.selectors), so that one network
        # cannot fill a page with them; a reporter was told "shown to everyone" and looked
        # for it in vain (newcomer tester, forty-ninth session).
        if not self.report.comment:
            return ""
        return " Its comment is kept but not shown: the page shows comments of counted reports."


class CatalogChanged(Exception):
    """The service or problem named in a report no longer exists (deleted meanwhile)."""


def _pooled_connection_release() -> None:
    """Give this thread's pooled connection back before its report joins a batch.

    The batch's leader writes every report on its own connection. A website form submission
    holds one already (it read the service); waiting behind a leader, a pool's worth of them
    left the leader none, and the whole batch was answered 503 on a healthy database after
    DB_POOL_TIMEOUT (infra review F1). Without a pool (SQLite, the Celery processes) a
    connection is the thread's own and stays open.
    """
    if connection.connection is not None and getattr(connection, "pool", None) is not None:
        connection.close()  # with a pool: back to it


def report_create(
    *,
    service: Service,
    problem: ProblemType,
    country: str,
    subdivision: str = "",
    comment: str = "",
    source: str,
    address: str,
    countable: bool = True,
    now: dt.datetime | None = None,
) -> ReportCreated:
    """Store a validated report; it counts as evidence if its network may add one now.

    countable=False (the rate limit could not be checked) stores the report uncounted:
    never counted unchecked, never dropped. The claims and the row are written in one
    transaction (on PostgreSQL in one statement), shared with the reports that other threads
    of the process submit meanwhile: when this returns, the row is committed (unless the
    caller holds a transaction of its own, which the row then joins).
    """
    now = now or timezone.now()
    keys = network_keys(address)
    report = Report(
        service=service,
        problem=problem,
        country=country,
        subdivision=subdivision,
        comment=comment,
        source=source,
        created_at=now,
        reporter_key=keys.network,
        block_key=keys.block,
        site_key=keys.site,
        counted=False,
    )
    write = _ReportWrite(report=report, site=keys.site, countable=countable, now=now)
    try:
        if connection.in_atomic_block:
            # The caller's transaction decides when the row commits: it cannot join a batch.
            _write_one(write)
        else:
            _pooled_connection_release()
            _group_commit.submit(write)
    except IntegrityError as exc:
        # The catalog in memory still had a service deleted meanwhile.
        catalog_forget()
        raise CatalogChanged(str(exc)) from exc
    if not countable:
        intake.unchecked_stored(now=now)
    if report.counted:
        uncounted = Uncounted.NONE
    elif not countable:
        uncounted = Uncounted.UNCHECKED
    else:
        uncounted = Uncounted.BLOCK if write.site_claimed else Uncounted.REPEAT
    return ReportCreated(report=report, uncounted=uncounted)


# --- The dedup claims: each one statement -----------------------------------------------------
#
# One counted report per site (reports.networks) per dedup window, and a capped number per
# block. The site's window is claimed first: a site whose block is full still spends its window,
# so it cannot retry its way in. Each claim is an upsert whose conflict branch only updates
# (and only RETURNs a row) when the claim succeeds; the unique constraints on (key, service)
# make concurrent claims of one window take turns on the row, so exactly one of them wins.
# PostgreSQL and SQLite (>= 3.35) both accept this form.

_NETWORK_CLAIM = """
INSERT INTO {table} (reporter_key, service_id, counted_until) {values}
ON CONFLICT (reporter_key, service_id) DO UPDATE SET counted_until = excluded.counted_until
WHERE {table}.counted_until <= %s
RETURNING 1
"""
# A block's cap holds over a sliding window, estimated from its fixed grid of windows (as
# Cloudflare's rate limits do): the counted reports of the window before weigh by the share of
# it still within the last REPORT_BLOCK_WINDOW_MINUTES, and the sum, rounded to the nearest,
# must stay under the cap (earlier x share + counted < cap - 1/2). A plain grid let a block
# add its cap just before the turn of its window and again just after, twice the cap within
# a minute, at a turn its answers let a sender find (red-team tester, forty-second session).
# Now no eighth of a window (7.5 minutes) counts more than the cap, a window at most twice it,
# and a block that keeps sending counts about its cap a window, spread over it; rounded up
# instead, a block would wait a quarter of a window after a full one, and blocks that all
# began at an outage's onset would fall silent together.
_BLOCK_EARLIER = "CASE WHEN {table}.window_until >= %s THEN {table}.counted ELSE 0 END"
_BLOCK_CLAIM = (
    """
INSERT INTO {table} (block_key, service_id, window_until, counted, earlier) {values}
ON CONFLICT (block_key, service_id) DO UPDATE SET
    earlier = CASE WHEN {table}.window_until <= %s THEN """
    + _BLOCK_EARLIER
    + """ ELSE {table}.earlier END,
    counted = CASE WHEN {table}.window_until <= %s THEN 1 ELSE {table}.counted + 1 END,
    window_until = CASE WHEN {table}.window_until <= %s
        THEN excluded.window_until ELSE {table}.window_until END
WHERE CASE WHEN {table}.window_until <= %s
    THEN ("""
    + _BLOCK_EARLIER
    + """) * CAST(%s AS DOUBLE PRECISION) < %s - 0.5
    ELSE {table}.earlier * CAST(%s AS DOUBLE PRECISION) < %s - 0.5 - {table}.counted END
RETURNING 1
"""
)
_REPORT_COLUMNS = (
    "service_id",
    "problem_id",
    "country",
    "subdivision",
    "comment",
    "source",
    "created_at",
    "reporter_key",
    "block_key",
    "site_key",
)


def _claim_sql(template: str, model: type[Model], values: str) -> str:
    return template.format(table=connection.ops.quote_name(model._meta.db_table), values=values)


def _network_params(write: _ReportWrite) -> tuple[list, list]:
    """(the inserted row, the condition) of the dedup claim, keyed by the report's site."""
    adapt = connection.ops.adapt_datetimefield_value
    until = write.now + dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES)
    return [write.site, write.report.service_id, adapt(until)], [adapt(write.now)]


def _block_params(report: Report, now: dt.datetime) -> tuple[list, list]:
    """(the inserted row, the update's parameters) of the block's claim (_BLOCK_CLAIM)."""
    adapt = connection.ops.adapt_datetimefield_value
    period = dt.timedelta(minutes=settings.REPORT_BLOCK_WINDOW_MINUTES)
    until = block_window_end(report.block_key, now, settings.REPORT_BLOCK_WINDOW_MINUTES)
    start, at = adapt(until - period), adapt(now)
    # The share of the window before that the sliding window ending now still holds.
    share = (until - now) / period
    cap = settings.REPORT_BLOCK_MAX_COUNTED
    row = [report.block_key, report.service_id, adapt(until)]
    return row, [at, start, at, at, at, start, share, cap, share, cap]


def _report_params(report: Report) -> list:
    values = [getattr(report, column) for column in _REPORT_COLUMNS]
    values[_REPORT_COLUMNS.index("created_at")] = connection.ops.adapt_datetimefield_value(
        report.created_at
    )
    return values


@dataclass
class _ReportWrite:
    report: Report
    site: str  # the dedup window's key (reports.networks)
    countable: bool
    now: dt.datetime
    site_claimed: bool = False  # set by the write: the dedup window was this report's


def _write_one(write: _ReportWrite) -> None:
    if connection.vendor == "postgresql":
        _report_write_statements([write])  # autocommitted, unless the caller holds a transaction
    else:
        _report_write(write)


def _write_batch(writes: Sequence[_ReportWrite]) -> list[None]:
    """Several reports in one transaction: one commit for all of them."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _report_write_statements(writes)
        else:
            for write in writes:
                _write_one(write)
    return [None] * len(writes)


def _report_write_statements(writes: Sequence[_ReportWrite]) -> None:
    """PostgreSQL: each report is one statement (_one_statement_sql: the two claims as
    data-modifying CTEs and the INSERT); several are sent in one pipeline (one round trip).

    psycopg's own cursor, server-side binding: the statement is prepared once per connection,
    since planning it each time cost more than running it (0.43-0.67 ms against 0.21 ms per
    report, bench/load/README.md, "Planned once"). That needs the connection's
    prepare_threshold set (settings: DB_PREPARED_STATEMENTS). executemany keeps every
    statement's RETURNING row; a lone report goes without a pipeline, which would cost it
    two more waits for the server.
    """
    sql = _one_statement_sql()
    params = [_one_statement_params(w) for w in writes]
    with (
        connection.cursor() as django_cursor,
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        # Where Django logs queries (DEBUG, CaptureQueriesContext), it sees this one too.
        many = len(params) > 1
        logged = (
            django_cursor.debug_sql(sql, params if many else params[0], many=many)
            if isinstance(django_cursor, CursorDebugWrapper)
            else nullcontext()
        )
        with logged:
            if many:
                cursor.executemany(sql, params, returning=True)
            else:
                cursor.execute(sql, params[0], prepare=True)
        for write in writes:
            row = cursor.fetchone()
            assert row is not None  # each statement's INSERT returns its row
            _stored(write, row)
            cursor.nextset()


def _retry_alone(exc: Exception) -> bool:
    """Whether a failed batch's reports may pass one by one: one report's fault (its service
    deleted meanwhile) or the batch's bad luck (a deadlock with another process's batch), not
    a database that cannot be reached, which every report would wait for again."""
    transient = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
    return isinstance(exc, IntegrityError) or isinstance(exc.__cause__, transient)


# Concurrent requests of this process write their reports together (outagewatch.group_commit).
# The cap bounds how long the last report of a batch waits for the others' statements.
GROUP_COMMIT_MAX_BATCH = 64
_group_commit: GroupCommit[_ReportWrite, None] = GroupCommit(
    _write_batch, _write_one, max_batch=GROUP_COMMIT_MAX_BATCH, retry_alone=_retry_alone
)


def _report_write(write: _ReportWrite) -> None:
    """Any database: the two claims and the INSERT in one short transaction."""
    report, countable, now = write.report, write.countable, write.now
    # Retried alone after its batch failed, a write starts afresh: the rolled-back attempt's
    # claims and row are gone, and another process may have claimed its network since.
    report.pk, report.counted, write.site_claimed = None, False, False
    with transaction.atomic(), connection.cursor() as cursor:
        if countable:
            row, condition = _network_params(write)
            cursor.execute(
                _claim_sql(_NETWORK_CLAIM, ReporterWindow, "VALUES (%s, %s, %s)"), row + condition
            )
            write.site_claimed = cursor.fetchone() is not None
            if write.site_claimed:
                row, condition = _block_params(report, now)
                cursor.execute(
                    _claim_sql(_BLOCK_CLAIM, BlockWindow, "VALUES (%s, %s, %s, 1, 0)"),
                    row + condition,
                )
                report.counted = cursor.fetchone() is not None
        report.save(force_insert=True)


@cache
def _one_statement_sql() -> str:
    """PostgreSQL: both claims as data-modifying CTEs and the INSERT, in one statement.

    The block is claimed only when the network's claim returned a row, and the report is
    counted only when the block's did; all of it commits (or fails) as one statement.
    """
    network = _claim_sql(_NETWORK_CLAIM, ReporterWindow, "SELECT %s, %s, %s WHERE %s")
    block = _claim_sql(
        _BLOCK_CLAIM, BlockWindow, "SELECT %s, %s, %s, 1, 0 WHERE EXISTS (SELECT FROM network)"
    )
    table = connection.ops.quote_name(Report._meta.db_table)
    columns = ", ".join((*_REPORT_COLUMNS, "counted"))
    placeholders = ", ".join(["%s"] * len(_REPORT_COLUMNS))
    return (
        f"WITH network AS ({network}), block AS ({block}) "
        f"INSERT INTO {table} ({columns}) "
        f"VALUES ({placeholders}, EXISTS (SELECT FROM block))"
        " RETURNING id, counted, EXISTS (SELECT FROM network)"
    )


def _one_statement_params(write: _ReportWrite) -> list:
    report, countable, now = write.report, write.countable, write.now
    network_row, network_condition = _network_params(write)
    block_row, block_condition = _block_params(report, now)
    return [
        *network_row,
        countable,
        *network_condition,
        *block_row,
        *block_condition,
        *_report_params(report),
    ]


def _stored(write: _ReportWrite, row: tuple[int, bool, bool]) -> None:
    """Take the one statement's RETURNING row: the instance is that row now, as after save()."""
    report = write.report
    report.id, report.counted, write.site_claimed = row
    report._state.adding = False
    report._state.db = connection.alias


def service_slug_changed(*, service: Service, old: str) -> None:
    """`service` was renamed from `old` outside the catalog file: `old` keeps its links working
    as a former slug (reports.renamed), and the new slug is no longer one."""
    with transaction.atomic():
        FormerSlug.objects.filter(service=service, slug=service.slug).delete()
        FormerSlug.objects.update_or_create(slug=old, defaults={"service": service})


def reporter_windows_purge(*, now: dt.datetime | None = None) -> int:
    """Delete expired dedup windows, and block windows a whole window past their end: until
    then the window after still weighs their counted reports (_BLOCK_CLAIM)."""
    now = now or timezone.now()
    deleted, _ = ReporterWindow.objects.filter(counted_until__lte=now).delete()
    past = now - dt.timedelta(minutes=settings.REPORT_BLOCK_WINDOW_MINUTES)
    blocks, _ = BlockWindow.objects.filter(window_until__lte=past).delete()
    return deleted + blocks


@dataclass(frozen=True)
class CommentFlagged:
    flagged: bool  # False: this network had flagged it already, or no such comment

    @property
    def message(self) -> str:
        if self.flagged:
            return "Thanks — we will look at this comment."
        return "Thanks — this comment was already reported from your network."


def comment_flag(
    *, service: Service, report_id: int, address: str, now: dt.datetime | None = None
) -> CommentFlagged:
    """One network's "report abuse" on a comment: taken once per network (unique row), and
    counted towards hiding it once per block (IPv4 /16, IPv6 /32), as reports are capped by
    block: the networks of one customer's range must not hide what others wrote.

    Raises Report.DoesNotExist when the service has no such comment.
    """
    now = now or timezone.now()
    if not Report.objects.filter(pk=report_id, service=service).exclude(comment="").exists():
        raise Report.DoesNotExist(f"No comment {report_id} about {service.slug}.")
    keys = network_keys(address)
    with transaction.atomic():
        # The report's row, locked: two flags from one block at once count once.
        Report.objects.select_for_update().filter(pk=report_id).values_list("pk").first()
        new_block = not CommentFlag.objects.filter(
            report_id=report_id, block_key=keys.block
        ).exists()
        _, created = CommentFlag.objects.get_or_create(
            report_id=report_id,
            reporter_key=keys.network,
            defaults={"created_at": now, "block_key": keys.block},
        )
        if created and new_block:
            Report.objects.filter(pk=report_id).update(comment_flags=F("comment_flags") + 1)
    return CommentFlagged(flagged=created)


def comment_hide(*, report_ids: list[int]) -> int:
    """Hide these comments from pages and the API (the reports still count)."""
    return Report.objects.filter(pk__in=report_ids).exclude(comment="").update(comment_hidden=True)


def comment_show(*, report_ids: list[int]) -> int:
    """Undo a hide, and forget the flags: a moderator has read the comment and kept it."""
    with transaction.atomic():
        # The reports' rows first, as comment_flag takes them: a flag being written meanwhile
        # is committed, then deleted with the others. Not locked, it escaped the delete and
        # outlived its count, and its block could never flag the comment again.
        rows = Report.objects.select_for_update().filter(pk__in=report_ids).order_by("pk")
        list(rows.values_list("pk"))  # in one order: two moderators at once take turns
        CommentFlag.objects.filter(report_id__in=report_ids).delete()
        return (
            Report.objects.filter(pk__in=report_ids)
            .exclude(comment="")
            .update(comment_hidden=False, comment_flags=0)
        )
