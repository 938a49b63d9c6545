"""gunicorn settings for the digits service; every value comes from service.settings (env overrides).

Run: gunicorn -c service/gunicorn_conf.py service.wsgi:app

- preload_app: the model is loaded once in the master, before forking, so bad weights stop start-up with one
  line and workers share the weights' memory.
- gthread workers keep connections alive; each worker runs inference on one torch thread (post_fork), so
  WORKERS processes use WORKERS cores without oversubscribing them.
- Prometheus multiprocess mode: PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is imported, so
  it is set (and emptied) here, in the master, before the app is loaded; child_exit retires a dead worker's
  live gauges.
"""

from __future__ import annotations

import glob
import os
import tempfile

from service.settings import SERVER_SETTINGS, from_env

_s = from_env(SERVER_SETTINGS)
_max_body = from_env()["MAX_CONTENT_LENGTH"]

bind = f"{_s['HOST']}:{_s['PORT']}"
workers = _s["WORKERS"]
worker_class = "gthread"
threads = _s["THREADS"]
timeout = _s["TIMEOUT"]
keepalive = 5
preload_app = True
accesslog = os.environ.get("ACCESS_LOG") or None  # e.g. ACCESS_LOG=- to log every request to stdout
errorlog = "-"
control_socket_disable = True  # gunicorn ≥ 24's admin socket: one fixed path per user, unneeded here


def _multiproc_dir() -> str:
    """An empty folder for the workers' metric files: $PROMETHEUS_MULTIPROC_DIR if set, else a fresh temp one."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="digits-metrics-")
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):  # an earlier run's samples would add to this one's
        os.remove(stale)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


_multiproc_dir()


def pre_request(worker, req):
    """A body over the limit is answered 413 unread; say Connection: close rather than drop the connection later."""
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), "0")
    if not length.isdecimal() or int(length) > _max_body:
        req.must_close = True


def post_fork(server, worker):
    """One inference thread per worker process."""
    import torch

    torch.set_num_threads(1)


def child_exit(server, worker):
    """Mark a dead worker's live gauges as gone (counters and histograms keep its samples)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
