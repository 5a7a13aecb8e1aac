"""Fixtures of the alerts tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def eager() -> Iterator[None]:
    """Run queued Celery tasks in-process (emails land in the locmem outbox)."""
    from outagewatch.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
