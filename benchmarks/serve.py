"""Serving benchmark: the server as `make serve` runs it (granian) on a loopback port, driven by keep-alive clients.

    python benchmarks/serve.py [--workers 2] [--clients 16] [--seconds 8] [--weights PATH] [--out docs/serving.md]

Scenarios: one small PNG per POST /api/predict (plain and ?activations=1), and 64 PNGs per request (the batch
path, plain and ?activations=1). Reports requests/s, images/s, p50 and p99 latency, and writes a markdown table.
Each client is a thread holding one persistent HTTP/1.1 connection; the clients run in a separate process from
the server but share the machine's cores with it, so the figures are a floor, and noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout: model/ and service/ import without installing

from benchmarks import live_server  # noqa: E402
from benchmarks.common import MULTIPART_TYPE, multipart, replace_section, small_png  # noqa: E402

BENCH_HEADING = "## Benchmark"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--threads", type=int, default=1, help="requests each worker runs at once (THREADS, as make serve)")
    p.add_argument("--clients", type=int, default=16, help="concurrent keep-alive connections")
    p.add_argument("--seconds", type=float, default=8.0, help="duration of each scenario")
    p.add_argument("--batch", type=int, default=64, help="images per request on the batch path")
    p.add_argument(
        "--weights",
        type=Path,
        default=REPO / "artifacts/model.safetensors",
        help="weights to serve; a random 784-800-10 model when the file does not exist",
    )
    p.add_argument("--out", type=Path, default=REPO / "docs/serving.md", help="markdown report ('-' for none)")
    return p.parse_args(argv)


def weights_to_serve(path: Path, tmp: Path) -> tuple[Path, str]:
    if path.is_file():
        return path, str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    import torch

    from model import MLP, MLPConfig, save_weights

    torch.manual_seed(0)
    return save_weights(tmp / "random.safetensors", MLP(MLPConfig()).eval()), "random 784-800-10 ReLU (untrained)"


def start_server(weights: Path, port: int, args: argparse.Namespace, tmp: Path) -> subprocess.Popen:
    """The server with the benchmark's workers and threads, ready to answer; exit with the reason if it cannot start."""
    extra = {"THREADS": str(args.threads), "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom")}
    proc = live_server.start_server(weights, port, args.workers, extra_env=extra)
    try:
        live_server.wait_ready(port, proc, timeout=60)
    except RuntimeError as exc:
        live_server.stop(proc)
        raise SystemExit(f"benchmark: the server did not start ({exc})") from None
    return proc


def client_loop(port: int, path: str, body: bytes, ctype: str, stop: float, out: list[float], errors: list[int]):
    """Send the same request over one persistent connection until `stop`; record each latency."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": ctype, "Content-Length": str(len(body))}
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - t0)
        if response.status != 200:
            errors.append(response.status)
    conn.close()


def run_scenario(port: int, path: str, body: bytes, ctype: str, args: argparse.Namespace) -> dict[str, float]:
    """Drive the server with args.clients connections for args.seconds; return throughput and latency."""
    warm_stop = time.perf_counter() + 1.0
    client_loop(port, path, body, ctype, warm_stop, [], [])  # warm-up: first requests pay for lazy imports
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    errors: list[int] = []
    stop = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=client_loop, args=(port, path, body, ctype, stop, lat, errors)) for lat in latencies
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = np.array([x for per in latencies for x in per])
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": 1000 * np.percentile(lat, 50),
        "p99_ms": 1000 * np.percentile(lat, 99),
        "errors": len(errors),
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    import torch

    return f"{cpu}, {os.cpu_count()} cores visible; Python {platform.python_version()}, torch {torch.__version__}"


def report(
    rows: list[tuple[str, int, dict]],
    args: argparse.Namespace,
    weights_name: str,
    argv: list[str],
    load: tuple[float, float],
) -> str:
    cmd = " ".join(["python benchmarks/serve.py", *argv])
    lines = [
        BENCH_HEADING,
        "",
        f"Command: `{cmd}`  ",
        f"Machine: {machine()}  ",
        f"Date: {datetime.now(UTC).isoformat(timespec='seconds')}  ",
        f"Server: granian (python -m service.serve), {args.workers} workers × {args.threads} request threads, one "
        "compute thread per worker; "
        f"weights: {weights_name}  ",
        f"Clients: {args.clients} keep-alive HTTP/1.1 connections (Python threads, http.client) on the same machine, "
        f"{args.seconds:g} s per scenario.",
        "",
        "| scenario | images/request | requests/s | images/s | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, per_request, r in rows:
        lines.append(
            f"| {name} | {per_request} | {r['rps']:,.0f} | {r['rps'] * per_request:,.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    lines += [
        "",
        f"Load average (1 min) before and after the run: {load[0]:.1f} → {load[1]:.1f} on "
        f"{os.cpu_count()} cores. Client and server share those cores, and so does everything else running "
        "on the machine: the figures are noisy and a floor for what the server alone could do.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    one, batch = small_png(), multipart([small_png()] * args.batch)
    scenarios = [
        ("/api/predict, one PNG", "/api/predict", one, "image/png", 1),
        ("/api/predict?activations=1, one PNG", "/api/predict?activations=1", one, "image/png", 1),
        (
            f"/api/predict, batch of {args.batch}",
            "/api/predict",
            batch,
            MULTIPART_TYPE,
            args.batch,
        ),
        (
            f"/api/predict?activations=1, batch of {args.batch}",
            "/api/predict?activations=1",
            batch,
            MULTIPART_TYPE,
            args.batch,
        ),
    ]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="digits-bench-") as tmp:
        weights, weights_name = weights_to_serve(args.weights, Path(tmp))
        port = live_server.free_port()
        server = start_server(weights, port, args, Path(tmp))
        try:
            rows = []
            for name, path, body, ctype, n in scenarios:
                rows.append((name, n, run_scenario(port, path, body, ctype, args)))
                r = rows[-1][2]
                print(
                    f"{name:45s} {r['rps']:8,.0f} req/s {r['rps'] * n:9,.0f} img/s  p50 {r['p50_ms']:6.1f} ms  "
                    f"p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}",
                    flush=True,
                )
        finally:
            live_server.stop(server)
    text = report(rows, args, weights_name, argv, (load_before, os.getloadavg()[0]))
    if str(args.out) != "-":
        replace_section(args.out, BENCH_HEADING, text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
