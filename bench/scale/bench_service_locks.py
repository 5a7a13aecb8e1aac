"""The tick's service-row locks at scale: `outages_apply` over N services, a share of them
firing (opening an outage) or in an outage already (extending it), timed in a transaction
rolled back, on the database DATABASE_URL names (PostgreSQL: the locks are its own).

    DATABASE_URL=postgres://outagewatch:outagewatch@127.0.0.1:5432/ow_bench \\
        .venv/bin/python bench/scale/bench_service_locks.py --fill 10000
    # then from each checkout to compare (a git worktree of the commit before, say), in turn:
    DATABASE_URL=... /path/to/.venv/bin/python /path/to/bench_service_locks.py \\
        --services 1000 10000 --shares 0.01 0.2

It imports the code of the directory it runs from, so one copy of this script times any
checkout whose `outages_apply` takes a `TickView` (since 2c434e9 and before). `--fill N`
(once per database) migrates it and adds N services. Each case builds, inside its
transaction, the outages that are open before the minute ("ongoing": one per service of the
share, its series still in an outage), or none ("opening": the share's series open one
each), then times `outages_apply` alone and rolls everything back, so every run starts from
the same rows. The tick's other phases are not run: what the service locks cost is measured
against the rest of the phase that takes them. bench/scale/README.md has the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.getcwd())  # the checkout measured
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from detection.models import Outage  # noqa: E402
from detection.services import outages  # noqa: E402
from detection.services.timeutil import to_epoch_minute  # noqa: E402
from reports.models import Category, Service  # noqa: E402

MINUTE = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
SLUG = "bench-lock-{:05d}"


class _Rows(SimpleNamespace):
    """A per-series field the phase reads and this bench does not set: zeros."""

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("__"):
            raise AttributeError(name)
        return np.zeros(self.n)


def _fill(count: int) -> None:
    call_command("migrate", verbosity=0)
    category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    have = Service.objects.filter(slug__startswith="bench-lock-").count()
    Service.objects.bulk_create(
        Service(
            slug=SLUG.format(k),
            name=f"Bench {k}",
            category=category,
            website=f"https://b{k}.example",
        )
        for k in range(have, count)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reports_service")
    print(f"{Service.objects.filter(slug__startswith='bench-lock-').count()} services")


def _view(ids: list[int], hot: set[int], *, opening: bool) -> outages.TickView:
    n = len(ids)
    minute = to_epoch_minute(MINUTE)
    in_outage = np.array([sid in hot for sid in ids])
    state = _Rows(
        n=n,
        state=np.where(in_outage, 2, 0).astype(np.int8),
        onset=np.where(in_outage, minute - 30, -1).astype(np.int64),
        last_hot=np.where(in_outage, minute, -1).astype(np.int64),
        phase=np.zeros(n, dtype=np.int8),
    )
    transition = SimpleNamespace(
        state=state,
        opened=in_outage & opening,
        reopened=np.zeros(n, dtype=bool),
        resolved=np.zeros(n, dtype=bool),
    )
    scores = _Rows(
        n=n,
        score=np.where(in_outage, 0.99, 0.1),
        rule=np.array(["poisson_tail" if h else "" for h in in_outage]),
        level=np.where(in_outage, 2, 0).astype(np.int8),
        recent_level=np.where(in_outage, 2, 0).astype(np.int8),
        observed=np.where(in_outage, 40.0, 1.0),
        expected=np.full(n, 2.0),
        window=np.ones(n, dtype=np.int64),
        networks=np.where(in_outage, 30, 1),
    )
    result = SimpleNamespace(
        scores=scores,
        transition=transition,
        expected=np.full(n, 2.0),
        normal=np.full(n, 2.0),
        onset=np.where(in_outage, minute - 30, minute).astype(np.int64),
        window_expected=np.full((n, 1), 2.0),
    )
    observed = np.where(in_outage, 40.0, 1.0)
    return outages.TickView(
        keys=[(sid, "") for sid in ids],
        result=result,  # type: ignore[arg-type]
        observed=observed,
        minute=MINUTE,
        now=MINUTE + dt.timedelta(seconds=62),
        window=observed[:, None],
    )


class _Rollback(Exception):
    pass


def _case(ids: list[int], share: float, *, opening: bool) -> float:
    hot = set(ids[:: max(1, round(1 / share))])
    view = _view(ids, hot, opening=opening)
    seconds = 0.0
    try:
        with transaction.atomic():
            if not opening:
                Outage.objects.bulk_create(
                    Outage(
                        service_id=sid,
                        status=Outage.Status.ACTIVE,
                        started_at=MINUTE - dt.timedelta(minutes=30),
                        detected_at=MINUTE - dt.timedelta(minutes=28),
                        peak_observed=40,
                        peak_expected=2,
                    )
                    for sid in sorted(hot)
                )
            start = time.perf_counter()
            applied = outages.outages_apply(view=view)
            seconds = time.perf_counter() - start
            assert len(applied.active) == len(hot), (len(applied.active), len(hot))
            raise _Rollback
    except _Rollback:
        pass
    return seconds


def _lock_share(ids: list[int], share: float, *, repeat: int) -> tuple[list, list, list]:
    """In one process, alternately: outages_apply as it is and with its service lock made a
    no-op, over the share's outages going on; and that lock's statement alone. Seconds."""
    hot = sorted(set(ids[:: max(1, round(1 / share))]))
    real = outages.services_alerts_lock
    whole: list[float] = []
    unlocked: list[float] = []
    alone: list[float] = []
    for k in range(repeat * 2 + 1):
        off = k % 2 == 1
        outages.services_alerts_lock = (lambda **kw: None) if off else real  # type: ignore
        try:
            seconds = _case(ids, share, opening=False)
        finally:
            outages.services_alerts_lock = real  # type: ignore
        if k:  # the first warms the process
            (unlocked if off else whole).append(seconds)
        with transaction.atomic():
            start = time.perf_counter()
            real(service_ids=hot)
            alone.append(time.perf_counter() - start)
    return whole, unlocked, alone[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=int, help="migrate and add this many services")
    parser.add_argument("--services", type=int, nargs="*", default=[1000, 10_000])
    parser.add_argument("--shares", type=float, nargs="*", default=[0.01, 0.2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kinds", nargs="*", default=["opening", "ongoing"])
    parser.add_argument("--label", default=os.path.basename(os.getcwd()))
    parser.add_argument(
        "--lock", action="store_true", help="the lock against none, in this process (2c434e9 on)"
    )
    args = parser.parse_args()
    if args.fill:
        _fill(args.fill)
        return
    every = list(
        Service.objects.filter(slug__startswith="bench-lock-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for count in args.services:
        ids = every[:count]
        assert len(ids) == count, f"--fill {count} first"
        for share in args.shares:
            if args.lock:
                whole, unlocked, alone = _lock_share(ids, share, repeat=args.repeat)
                w, u, a = (statistics.median(x) for x in (whole, unlocked, alone))
                print(
                    f"{args.label}\t{count}\t{share:.2f}\tongoing\twith the lock {w:.4f}\t"
                    f"without {u:.4f}\tratio {w / u:.3f}\tthe lock alone {a:.4f} "
                    f"({a / w:.1%} of the phase)",
                    flush=True,
                )
                continue
            for opening in [kind == "opening" for kind in args.kinds]:
                _case(ids, share, opening=opening)  # warms the process's caches
                runs = [_case(ids, share, opening=opening) for _ in range(args.repeat)]
                kind = "opening" if opening else "ongoing"
                print(
                    f"{args.label}\t{count}\t{share:.2f}\t{kind}\t"
                    f"median {statistics.median(runs):.4f}\t" + " ".join(f"{r:.4f}" for r in runs),
                    flush=True,
                )


if __name__ == "__main__":
    main()
