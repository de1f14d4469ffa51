"""WSGI entry point (gunicorn console.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Before the settings load: web processes get DATABASE_STATEMENT_TIMEOUT, workers and
# management commands (which never import this module) do not.
os.environ.setdefault("CONSOLE_WEB_PROCESS", "1")
application = get_wsgi_application()
