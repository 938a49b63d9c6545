"""The WSGI app as the server runs it (`python -m service.serve`, or any WSGI server: `service.wsgi:app`).

Missing or corrupt weights end start-up with one line naming the file and exit status 1; service/serve.py imports
this module before any worker is forked, so there is never a half-alive server.
"""

from __future__ import annotations

import os

# One worker process per core, each doing its arithmetic on one thread: otherwise numpy's OpenBLAS and torch
# start a thread per core in every worker, and on 2 cores two workers' threads wait on each other (the service
# answered 51-119 requests/s that way instead of several hundred). Set before numpy or torch is first imported.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

from service.app import create_app  # noqa: E402
from service.errors import StartupError  # noqa: E402

try:
    app = create_app()
except (StartupError, ValueError) as exc:  # ValueError: a setting that does not parse
    raise SystemExit(f"digits service: cannot start: {exc}") from None
app.debug = False  # never the interactive debugger in production, whatever FLASK_DEBUG says
