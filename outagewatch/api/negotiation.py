"""Content negotiation: a `?format=` we do not offer is a 406, as an Accept header we cannot
meet already is. DRF answers it with a 404, which reads as "no such resource" to a client
that only asked for another format of one that exists."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from outagewatch.quoting import shortened


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)  # read twice below
        found = [renderer for renderer in renderers if renderer.format == format]
        if not found:
            offered = ", ".join(sorted({renderer.format for renderer in renderers}))
            raise NotAcceptable(f"format={shortened(format)!r} is not offered; use {offered}.")
        return found
