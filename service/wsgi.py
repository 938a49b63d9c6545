"""The WSGI entry point for gunicorn: `gunicorn -c service/gunicorn_conf.py service.wsgi:app`.

Missing or corrupt weights end start-up with one line naming the file and exit status 1, before any worker
is forked (the gunicorn config preloads the app), so there is never a half-alive server.
"""

from __future__ import annotations

from service.app import create_app
from service.errors import StartupError

try:
    app = create_app()
except (StartupError, ValueError) as exc:  # ValueError: a setting that does not parse
    raise SystemExit(f"digits service: cannot start: {exc}") from None
app.debug = False  # never the interactive debugger in production, whatever FLASK_DEBUG says
