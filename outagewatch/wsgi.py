"""The WSGI application (gunicorn: ``outagewatch.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outagewatch.settings")

application = get_wsgi_application()

from outagewatch.startup import require_safe_settings  # noqa: E402  (needs settings loaded)

require_safe_settings()
