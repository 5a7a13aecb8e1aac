"""The ASGI application: what the production server runs (see outagewatch/gunicorn_conf.py).

Request bodies are read on the event loop, bounded in size and time (outagewatch.asgi_guard),
before one of the process's request threads (outagewatch.asgi_threads) runs Django's
middleware and views, in one go (outagewatch.asgi_handler): slow uploads cost the server a
coroutine, not a thread.
"""

import os
from typing import cast

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")
# Django's docs: no persistent connections under ASGI (whatever CONN_MAX_AGE the shared
# environment sets for the Celery processes). On PostgreSQL a connection pool per process
# takes their place (DB_POOL, outagewatch.settings).
os.environ["CONN_MAX_AGE"] = "0"
os.environ.setdefault("DB_POOL", "1")

django.setup(set_prefix=False)  # what get_asgi_application() does before its handler

from django.conf import settings  # noqa: E402  (needs the settings module chosen above)

from outagewatch.asgi_guard import ASGIApp, BodyLimit  # noqa: E402
from outagewatch.asgi_handler import SyncChainASGIHandler  # noqa: E402
from outagewatch.asgi_threads import RequestThreads  # noqa: E402
from outagewatch.startup import require_safe_settings  # noqa: E402

require_safe_settings()

# The body is read first, on the event loop: a slow upload never holds one of the threads.
# The cast: Django's stubs type the messages its handler sends as Mapping, an ASGIApp's as dict.
application = BodyLimit(
    RequestThreads(cast(ASGIApp, SyncChainASGIHandler()), threads=settings.WEB_THREADS),
    max_bytes=max(settings.API_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
    timeout=settings.REQUEST_BODY_TIMEOUT_SECONDS,
)
