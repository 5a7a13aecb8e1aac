"""The production ASGI handler: a request's sync work (signals, middleware, view) in one
thread hop."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
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


class Chunks:
    """A streamed body that notes when it is closed, and whether all of it was sent by then."""

    def __init__(self, sent: list[bytes]) -> None:
        self.sent = sent
        self.parts = iter([b"first,", b"second"])

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self.parts)

    def close(self) -> None:
        seen["closed_after_parts"] = len(self.sent)


def stream_view(request):
    return StreamingHttpResponse(Chunks(streamed))


def slow_view(request):
    released.wait(5)
    seen["view"] = threading.get_ident()
    return JsonResponse({"late": True})


def file_view(request):
    return FileResponse(io.BytesIO(b"x" * 20_000))


class ThreadNotingFile(io.BytesIO):
    """A file that notes the threads it is read on."""

    def read(self, size: int = -1) -> bytes:
        seen.setdefault("file_read_threads", set()).add(threading.get_ident())
        return super().read(size)


def big_file_view(request):
    seen.clear()
    seen["view"] = threading.get_ident()
    return FileResponse(ThreadNotingFile(b"x" * (2 * 65_536 + 20_000)))


streamed: list[bytes] = []
released = threading.Event()

urlpatterns = [
    path("api/v1/thread/", thread_view),
    path("api/v1/stream/", stream_view),
    path("api/v1/slow/", slow_view),
    path("api/v1/file/", file_view),
    path("api/v1/big-file/", big_file_view),
    path("", include("outagewatch.urls")),
]


async def _get_parts(app, path: str) -> tuple[int, list[bytes]]:
    """The status and the body as the messages that carried it."""
    communicator = ApplicationCommunicator(app, http_scope(path, host=b"testserver"))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    parts = []
    while True:
        message = await communicator.receive_output(5)
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return start["status"], parts


async def _get(app, path: str) -> tuple[int, bytes]:
    status, parts = await _get_parts(app, path)
    return status, b"".join(parts)


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
    assert json.loads(body) == {"detail": "Not found.", "code": "not_found"}


def test_request_signals_fire_on_the_request_thread(settings):
    # close_old_connections runs on both: it must see the thread's own database connection.
    settings.ROOT_URLCONF = __name__
    seen.clear()

    def started(**kwargs):
        seen["started"] = threading.get_ident()

    def finished(sender, **kwargs):
        seen["finished"] = threading.get_ident()
        seen["sender"] = sender

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _ = asyncio.run(
            _get(RequestThreads(SyncChainASGIHandler(), threads=2), "/api/v1/thread/")
        )
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 200
    assert seen["started"] == seen["view"] == seen["finished"] != threading.get_ident()
    assert seen["sender"] is SyncChainASGIHandler


def test_a_streamed_answer_is_closed_after_all_of_it_is_sent(settings):
    settings.ROOT_URLCONF = __name__
    seen.clear()
    streamed.clear()

    async def run() -> bytes:
        # Called directly, not through a communicator: its send returns only once the part
        # is recorded, so close() cannot overtake the recording of the last part.
        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":
                streamed.append(message.get("body", b""))

        app = RequestThreads(SyncChainASGIHandler(), threads=1)
        await app(http_scope("/api/v1/stream/", host=b"testserver"), receive, send)
        return b"".join(streamed)

    assert asyncio.run(run()) == b"first,second"
    # Closed once the last part had gone out, not when the view returned.
    assert seen["closed_after_parts"] == len(streamed)


def test_a_client_that_leaves_mid_request_ends_it_cleanly(settings):
    # The view still runs to its end on its thread; the handler returns without an error.
    settings.ROOT_URLCONF = __name__
    seen.clear()
    released.clear()

    async def run() -> None:
        app = RequestThreads(SyncChainASGIHandler(), threads=1)
        communicator = ApplicationCommunicator(app, http_scope("/api/v1/slow/", host=b"testserver"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        await communicator.send_input({"type": "http.disconnect"})
        released.set()
        await communicator.wait(5)

    asyncio.run(run())
    assert "view" in seen


def test_files_go_out_in_the_servers_chunk_size(settings):
    # A FileResponse reads 4 KB at a time unless the handler says otherwise, as Django's does.
    settings.ROOT_URLCONF = __name__

    app = RequestThreads(SyncChainASGIHandler(), threads=1)
    status, parts = asyncio.run(_get_parts(app, "/api/v1/file/"))
    assert status == 200
    assert len(parts[0]) == 20_000


@pytest.mark.filterwarnings("error")
def test_a_static_file_is_streamed_without_djangos_sync_iterator_warning(settings, tmp_path):
    # WhiteNoise answers with a FileResponse over a sync file iterator; Django's ASGI handler
    # read such a body whole in one more thread hop and warned ("StreamingHttpResponse must
    # consume synchronous iterators"), under warnings-as-errors: a failed request.
    settings.WHITENOISE_USE_FINDERS = True  # from static/, with no collectstatic needed
    settings.STATIC_ROOT = tmp_path
    expected = (settings.BASE_DIR / "static" / "css" / "site.css").read_bytes()
    app = RequestThreads(SyncChainASGIHandler(), threads=1)

    status, body = asyncio.run(_get(app, "/static/css/site.css"))

    assert (status, body) == (200, expected)


@pytest.mark.filterwarnings("error:StreamingHttpResponse must consume")
def test_a_large_file_goes_out_in_chunks_read_on_the_request_thread(settings):
    settings.ROOT_URLCONF = __name__
    app = RequestThreads(SyncChainASGIHandler(), threads=1)

    status, parts = asyncio.run(_get_parts(app, "/api/v1/big-file/"))

    assert status == 200
    assert [len(part) for part in parts if part] == [65_536, 65_536, 20_000]
    assert seen["file_read_threads"] == {seen["view"]}
