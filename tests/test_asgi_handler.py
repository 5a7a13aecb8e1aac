"""The production ASGI handler: Django's middleware chain and view in one thread hop."""

from __future__ import annotations

import asyncio
import json
import threading

from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.http import JsonResponse
from django.urls import include, path

from bench.load.handler_cpu import http_scope
from outagewatch.asgi_handler import SyncChainASGIHandler
from outagewatch.asgi_threads import RequestThreads

seen: dict[str, int] = {}


class RecordThreadMiddleware:
    """A sync middleware, as all of the project's are: notes the thread it runs on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seen["middleware"] = threading.get_ident()
        return self.get_response(request)


def thread_view(request):
    seen["view"] = threading.get_ident()
    return JsonResponse({"ok": True})


urlpatterns = [path("api/v1/thread/", thread_view), path("", include("outagewatch.urls"))]


async def _get(app, path: str) -> tuple[int, bytes]:
    communicator = ApplicationCommunicator(app, http_scope(path, host=b"testserver"))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    return start["status"], body["body"]


def test_the_chain_is_built_synchronous_unlike_djangos_own():
    # Django's ASGI handler adapts a sync middleware by switching threads around it: its chain
    # is a coroutine function. Ours is a plain function, run in one sync_to_async call.
    assert asyncio.iscoroutinefunction(ASGIHandler()._middleware_chain)
    assert not asyncio.iscoroutinefunction(SyncChainASGIHandler()._middleware_chain)


def test_middleware_and_view_run_on_the_request_thread(settings):
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RecordThreadMiddleware"]
    seen.clear()
    app = RequestThreads(SyncChainASGIHandler(), threads=2)
    status, body = asyncio.run(_get(app, "/api/v1/thread/"))
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert seen["middleware"] == seen["view"] != threading.get_ident()


def test_errors_under_the_api_are_still_json():
    app = RequestThreads(SyncChainASGIHandler(), threads=1)
    status, body = asyncio.run(_get(app, "/api/v1/no-such-thing/"))
    assert status == 404
    assert json.loads(body)
