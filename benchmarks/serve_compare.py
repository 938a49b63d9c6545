"""The service against a minimal Flask app, LitServe and KServe, side by side: wrk, interleaved rounds, medians.

    python benchmarks/serve_compare.py [--rounds 2] [--seconds 8] [--connections 16] [--only NAME ...]
    python benchmarks/serve_compare.py --against REV --only "make serve"   # each `make serve` row at REV as well

Every server serves the same weights on a loopback port, two processes on the two cores (or its framework's
equivalent), one at a time; wrk (1 thread, keep-alive connections) posts the same request for 2 s to warm up, then
for --seconds. Rounds go through every server in turn, so a busy machine slows them alike; the medians of the
rounds go into docs/serving.md. gunicorn, LitServe and KServe come from the optional `bench` extra
(`pip install -e '.[bench]'`) and wrk from the system (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from benchmarks import live_server  # noqa: E402
from benchmarks.common import MULTIPART_TYPE, cpu_model, multipart, png_bytes, replace_section, small_png  # noqa: E402
from benchmarks.request_cpu import worktree  # noqa: E402

HEADING = "## Against other servers"
BASELINE = "minimal Flask (benchmarks/baseline_flask.py), gunicorn sync"  # the yardstick of issue #12's ratio
PY = sys.executable
V2_PATH = "/v2/models/mnist-mlp/infer"
WRK_SCRIPT = """
local f = io.open(os.getenv("WRK_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("WRK_TYPE")
local extra = os.getenv("WRK_HEADER_LENGTH")
if extra ~= nil and extra ~= "" then wrk.headers["Inference-Header-Content-Length"] = extra end
"""


@dataclass(frozen=True)
class Server:
    """How to start one server and what to send it."""

    name: str
    command: list[str]
    path: str
    request: str  # a key of REQUESTS
    env: tuple[tuple[str, str], ...] = ()
    tree: Path = REPO  # whose code serves (--against: a worktree of an older revision)

    @property
    def images(self) -> int:
        return REQUESTS[self.request]


# What each request carries: images per request. png: one 28×28 PNG, multipart; v2: the same digit as a V2 JSON
# FP32 [1, 784] tensor; v2_256: 256 MNIST test digits as a V2 UINT8 [256, 28, 28] binary tensor (probabilities
# back as binary); png_64: 64 MNIST test digits as PNGs in one multipart body.
REQUESTS = {"png": 1, "v2": 1, "v2_256": 256, "png_64": 64}


def make_serve(tree: Path) -> list[str]:
    """The command `make serve` ran at TREE: service/serve.py (granian) where it exists, else gunicorn's config."""
    if (tree / "service/serve.py").is_file():
        return [PY, "-m", "service.serve"]
    return [PY, "-m", "gunicorn", "-c", "service/gunicorn_conf.py", "service.wsgi:app"]


def servers(workers: int) -> list[Server]:
    gunicorn = [PY, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", str(workers)]
    serve = make_serve(REPO)
    return [
        Server("the service, `make serve` (granian)", serve, "/api/predict", "png"),
        Server(
            "the service under gunicorn gthread (1 thread, app preloaded)",
            [*gunicorn, "-k", "gthread", "--threads", "1", "--preload", "service.wsgi:app"],
            "/api/predict",
            "png",
        ),
        Server(BASELINE, [*gunicorn, "-k", "sync", "benchmarks.baseline_flask:app"], "/api/predict", "png"),
        Server("LitServe 0.2.19", [PY, "-m", "benchmarks.others.litserve_app"], "/api/predict", "png"),
        Server("the service, `make serve`, V2 JSON", serve, V2_PATH, "v2"),
        Server("KServe 0.21.0 ModelServer, V2 JSON", [PY, "-m", "benchmarks.others.kserve_app"], V2_PATH, "v2"),
        Server("the service, `make serve`, V2 binary UINT8 [256, 28, 28]", serve, V2_PATH, "v2_256"),
        Server("the service, `make serve`, 64 PNGs in one multipart body", serve, "/api/predict", "png_64"),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="times every server is measured (interleaved)")
    p.add_argument("--seconds", type=int, default=8, help="measured seconds per server and round")
    p.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections")
    p.add_argument("--workers", type=int, default=2, help="worker processes for every server that has them")
    p.add_argument("--weights", type=Path, default=REPO / "artifacts/model.safetensors", help="weights to serve")
    p.add_argument("--only", nargs="*", default=None, help="servers whose name contains one of these words")
    p.add_argument("--against", default=None, help="also the service at this git revision, as `make serve` runs it")
    p.add_argument("--out", type=Path, default=REPO / "docs/serving.md", help="markdown report ('-' for none)")
    return p.parse_args(argv)


def bodies(tmp: Path) -> dict[str, tuple[Path, str, dict[str, str]]]:
    """The request files wrk sends (see REQUESTS), with their Content-Type and other headers."""
    from service.preprocess import preprocess
    from training.data import load_mnist, resolve_root

    png = small_png()
    pixels = preprocess(png).pixels.reshape(-1).tolist()
    v2 = {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": pixels}]}
    digits = load_mnist(resolve_root(None)).test_x[:256].numpy()  # (256, 28, 28) uint8
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "shape": [256, 28, 28],
                    "datatype": "UINT8",
                    "parameters": {"binary_data_size": digits.nbytes},
                }
            ],
            "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}],
        }
    ).encode()
    files = {
        "png": (multipart([png]), MULTIPART_TYPE, {}),
        "v2": (json.dumps(v2).encode(), "application/json", {}),
        "v2_256": (
            head + digits.tobytes(),
            "application/octet-stream",
            {"Inference-Header-Content-Length": str(len(head))},
        ),
        "png_64": (multipart([png_bytes(d) for d in digits[:64]]), MULTIPART_TYPE, {}),
    }
    for name, (data, _, _) in files.items():
        (tmp / f"{name}.body").write_bytes(data)
    return {name: (tmp / f"{name}.body", t, h) for name, (_, t, h) in files.items()}


def start(server: Server, port: int, weights: Path, tmp: Path) -> subprocess.Popen:
    env = live_server.server_env(weights, port, None, PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"))
    env.update(dict(server.env), PYTHONPATH=str(server.tree), DIGITS_MODELS=str(tmp / "no-models"))
    command = [part.format(port=port) for part in server.command]
    return subprocess.Popen(
        command, cwd=server.tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_answering(port: int, server: Server, body: tuple[Path, str, dict], proc: subprocess.Popen) -> None:
    """Until the request is answered 200 (60 s at most)."""
    deadline = time.monotonic() + 60
    data, headers = body[0].read_bytes(), {"Content-Type": body[1], **body[2]}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve_compare: {server.name} exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", server.path, body=data, headers=headers)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"serve_compare: {server.name} did not answer in 60 s")


def wrk(port: int, path: str, body: tuple[Path, str, dict], seconds: int, connections: int, script: Path) -> dict:
    header_length = body[2].get("Inference-Header-Content-Length", "")
    env = {"WRK_BODY": str(body[0]), "WRK_TYPE": body[1], "WRK_HEADER_LENGTH": header_length, "PATH": "/usr/bin:/bin"}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], env=env, capture_output=True, text=True).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "errors": sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out)),
        "socket_errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measure(server: Server, args: argparse.Namespace, tmp: Path, body: tuple[Path, str, dict], script: Path) -> dict:
    port = live_server.free_port()
    proc = start(server, port, args.weights, tmp)
    try:
        wait_answering(port, server, body, proc)
        wrk(port, server.path, body, 2, args.connections, script)  # warm-up
        return wrk(port, server.path, body, args.seconds, args.connections, script)
    finally:
        live_server.stop(proc)


def report(rows: dict[str, list[dict]], args: argparse.Namespace, argv: list[str]) -> str:
    lines = [
        HEADING,
        "",
        f"Command: `python benchmarks/serve_compare.py {' '.join(argv)}`  ",
        f"Machine: {cpu_model()}, 2 cores shared by client and server; wrk 1 thread, {args.connections} keep-alive "
        f"connections, {args.seconds} s after a 2 s warm-up; {args.rounds} interleaved rounds, medians "
        "(each round's figure in brackets).",
        "",
        "| server, request | requests/s | images/s | × the minimal app | p50 ms | p99 ms | non-2xx | socket errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in rows.items():
        rps = [r["rps"] for r in runs]
        images = statistics.median(rps) * runs[0]["images"]
        p50, p99 = (statistics.median(r[key] for r in runs) for key in ("p50_ms", "p99_ms"))
        lines.append(
            f"| {name} | {statistics.median(rps):,.0f} ({', '.join(f'{x:,.0f}' for x in rps)}) | {images:,.0f} | "
            f"{against_baseline(runs, rows.get(BASELINE))} | {p50:.1f} | {p99:.1f} | "
            f"{sum(r['errors'] for r in runs)} | {sum(r['socket_errors'] for r in runs)} |"
        )
    return "\n".join(lines) + "\n"


def against_baseline(runs: list[dict], baseline: list[dict] | None) -> str:
    """The median of a one-PNG row's round-by-round ratios to the minimal app's requests/s (each round's in
    brackets): the two were measured at most minutes apart in one round, so the machine's drift falls on both."""
    if baseline is None or runs[0]["request"] != "png" or runs is baseline:
        return "–"
    ratios = [run["rps"] / base["rps"] for run, base in zip(runs, baseline)]
    return f"{statistics.median(ratios):.2f}× ({', '.join(f'{r:.2f}' for r in ratios)})"


def _at_revision(server: Server, rev: str, tree: Path) -> list[Server]:
    """The same `make serve` row served by REV's code (in the worktree TREE), right after it; none for others."""
    if server.command != make_serve(REPO):
        return []
    name = server.name.replace("the service", f"the service at {rev}", 1)
    return [Server(name, make_serve(tree), server.path, server.request, server.env, tree)]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("serve_compare: wrk is not installed (apt-get install wrk)")
    chosen = [s for s in servers(args.workers) if not args.only or any(w in s.name for w in args.only)]
    before = worktree(args.against) if args.against else None
    if before is not None:
        chosen = [twin for s in chosen for twin in (s, *_at_revision(s, args.against, before))]
    rows: dict[str, list[dict]] = {s.name: [] for s in chosen}
    with tempfile.TemporaryDirectory(prefix="digits-compare-") as tmp:
        tmp = Path(tmp)
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
        requests = bodies(tmp)
        for r in range(args.rounds):
            for server in chosen:
                result = measure(server, args, tmp, requests[server.request], script)
                result |= {"images": server.images, "request": server.request}
                rows[server.name].append(result)
                print(
                    f"round {r + 1} {server.name:60s} {result['rps']:8,.0f} req/s  p99 {result['p99_ms']:6.1f} ms"
                    f"  non-2xx {result['errors']}",
                    flush=True,
                )
    if before is not None:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=REPO, check=False)
    text = report(rows, args, argv)
    print(text)
    if str(args.out) != "-":
        replace_section(args.out, HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
