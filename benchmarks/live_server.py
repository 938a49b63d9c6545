"""The service as `make serve` runs it (python -m service.serve), on a loopback port: start, wait until ready, stop.

Shared by the serving benchmarks (serve.py, soak.py) and the tests that need the real server.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-m", "service.serve"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(weights: Path, port: int, workers: int | None = 2, **extra: str) -> dict[str, str]:
    """The environment that serves WEIGHTS on 127.0.0.1:PORT (workers=None: WORKERS as inherited, else the default)."""
    env = {
        **os.environ,
        "DIGITS_WEIGHTS": str(weights),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONPATH": str(REPO),
        **extra,
    }
    if workers is not None:
        env["WORKERS"] = str(workers)
    return env


def start_server(
    weights: Path, port: int, workers: int | None = 2, log=subprocess.DEVNULL, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start the server in its own process group, stdout and stderr both to LOG (a file, DEVNULL or PIPE)."""
    env = server_env(weights, port, workers, **(extra_env or {}))
    return subprocess.Popen(SERVE, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Return once GET /readyz answers 200; raise RuntimeError if the server exits or TIMEOUT seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        if _ready(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready in {timeout:g} s")


def _ready(port: int) -> bool:
    """Whether GET /readyz on 127.0.0.1:PORT answers 200 now."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the server's process group; SIGKILL it if it has not exited after TIMEOUT seconds."""
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send SIG to the process group PROC leads; a group that is already gone is fine."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
