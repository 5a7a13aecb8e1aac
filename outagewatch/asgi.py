"""The ASGI application (uvicorn: ``outagewatch.asgi:application``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

application = get_asgi_application()

from outagewatch.startup import require_safe_settings  # noqa: E402  (needs settings loaded)

require_safe_settings()
