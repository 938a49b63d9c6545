"""`python -m service.serve`: the digits service as `make serve` and the Docker image run it.

granian (an HTTP server written in Rust, here through its WSGI interface) runs the Flask app in WORKERS processes,
each answering THREADS requests at a time. Measured against gunicorn's gthread workers on 2 cores, same app, same
client, interleaved: 900 vs 648 requests/s with 16 connections, 1,419 vs 855 with 64, and a shorter tail
(docs/serving.md).

Start-up, in this one process, before any worker exists:
 1. the server settings (service/settings.py SERVER_SETTINGS): a value that does not parse ends start-up with one
    line and exit status 1; then Linux's SCHED_BATCH policy for this process and all it starts (batch_scheduling);
 2. an empty folder for the workers' Prometheus samples (PROMETHEUS_MULTIPROC_DIR), set before prometheus_client
    loads, so that /metrics adds up every worker's counts;
 3. the app itself (service.wsgi): missing or corrupt weights end start-up with one line naming the file and exit
    status 1, so there is never a half-alive server.
granian then forks the workers from this process (Linux's start method), so each begins with the app loaded, and
starts a new one in place of a worker that dies.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import tempfile

from service.settings import SERVER_SETTINGS, from_env

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 30  # on SIGTERM, how long workers may take to finish their requests before they are killed


def metrics_dir() -> str:
    """An empty folder for the workers' metric files: $PROMETHEUS_MULTIPROC_DIR if set, else a fresh temp one."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="digits-metrics-")
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):  # an earlier run's samples would add to this one's
        os.remove(stale)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def server(settings: dict):
    """The granian server for service.wsgi:app with these settings (not started)."""
    from granian.constants import HTTPModes, Interfaces, RuntimeModes
    from granian.server import Server

    return Server(
        "service.wsgi:app",
        address=settings["HOST"],
        port=settings["PORT"],
        interface=Interfaces.WSGI,
        workers=settings["WORKERS"],
        blocking_threads=settings["THREADS"],
        # granian's `auto` picks its multi-threaded runtime for every WSGI app; the single-threaded one answered
        # ~5 % more requests/s on 2 cores (median of 14 interleaved round pairs, docs/serving.md).
        runtime_mode=RuntimeModes.st,
        # HTTP/1.1 only: `auto` also listens for HTTP/2's preface on every connection; pinned, 4.4 % more
        # requests/s (median of 5 interleaved rounds against auto, 4 won; docs/serving.md). Put a proxy in front
        # for HTTP/2 clients (deploy/nginx.conf).
        http=HTTPModes.http1,
        websockets=False,
        log_access=settings["ACCESS_LOG"],
        respawn_failed_workers=True,
        workers_kill_timeout=SHUTDOWN_SECONDS,
    )


def batch_scheduling(on: bool) -> bool:
    """Put this thread under Linux's SCHED_BATCH, and with it every thread and worker process started after it;
    False (with a warning where it was asked for and refused) where it is not applied.

    Why: a granian worker reads HTTP on one thread and runs the app on another, and each answer the app thread
    hands over wakes the I/O thread, which under the default policy takes the core from the thread that woke it.
    Under SCHED_BATCH a woken thread waits for the running one's time slice (or for an idle core), so the app
    thread finishes its next request first. On 2 cores shared with the client: 4,016 against 3,308 requests/s,
    p99 7.8 against 8.2 ms; the minimal app gains nothing from it (docs/serving.md). Nice values, limits and
    priorities stay as they are: no privilege is needed to choose this policy.
    """
    if not on or not hasattr(os, "SCHED_BATCH"):  # not Linux: the default policy
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError as exc:  # a sandbox that filters the call: serve anyway, a little slower
        log.warning("digits service: SCHED_BATCH refused (%s); serving under the default policy", exc)
        return False
    return True


def main() -> None:
    try:
        settings = from_env(SERVER_SETTINGS)
    except ValueError as exc:
        raise SystemExit(f"digits service: cannot start: {exc}") from None
    batch_scheduling(settings["SCHED_BATCH"])  # first: every thread and worker started from here inherits it
    metrics_dir()
    import service.wsgi  # noqa: F401  (loads the weights here, once: a bad file stops start-up with one line)

    server(settings).serve()


if __name__ == "__main__":
    sys.exit(main())
