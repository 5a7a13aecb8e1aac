"""Admin pages for rows the machinery owns (the detector, the alert outbox): shown, never
edited, added or deleted by hand."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ShownOnly:
    """Mixed into a ModelAdmin or an inline: Django's view-only pages, whatever the user's
    permissions (a superuser has them all, and one slip in a form rewrote what the
    machinery had decided, with nothing to tell it from what it wrote itself)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
