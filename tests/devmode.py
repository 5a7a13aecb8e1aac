"""pytest plugin (loaded with `-p tests.devmode`): the test suite runs in development mode.

The settings default to production behaviour (DEBUG off, SECRET_KEY required). The plugin is
imported before pytest-django reads the settings, so a bare `pytest` works too; tests that
check production behaviour start `manage.py` with their own environment.
"""

import os

os.environ.setdefault("DEBUG", "1")
