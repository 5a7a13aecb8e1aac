"""The admin's actions in each row's history, as its own edits are: who hid a comment or
disabled a channel, and when (Django logs form edits, not actions)."""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest


def actions_log(*, request: HttpRequest, rows: QuerySet, message: str) -> None:
    """One history entry per row, written in one INSERT; `rows` selects what __str__ reads."""
    user_id = request.user.pk
    assert user_id is not None  # the admin's pages are only for signed-in staff
    LogEntry.objects.log_actions(
        user_id=user_id, queryset=rows, action_flag=CHANGE, change_message=message
    )
