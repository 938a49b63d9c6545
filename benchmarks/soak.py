"""Soak test: the server as `make serve` runs it, on loopback, under keep-alive clients mixing good and hostile uploads.

    python benchmarks/soak.py [--seconds 60] [--clients 32] [--weights PATH] [--out docs/reliability.md]

Each client is a thread with one persistent HTTP/1.1 connection (http.client), sending cases from the hostile
corpus (tests/hostile/make_corpus.py): half good images, half bad requests. Reports requests served, 5xx answers
(must be 0), dropped connections (no response at all; must be 0), answers that differ from the corpus, worker
restarts, and the RSS of every server worker (/proc/PID/status VmRSS) after a warm-up and at the end (growth must
stay under 10 %), read also every --sample seconds in between: a leak climbs, allocator churn goes up and down.
After a 413 for an over-limit body a client opens a new connection: the server closes the connection on a body
the app left unread (see docs/reliability.md).
Writes the figures into the soak section of docs/reliability.md. Exit status 1 if a limit is broken.
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import machine, machine_line  # noqa: E402
from benchmarks.live_server import free_port, start_server, stop, wait_ready  # noqa: E402
from tests.hostile.make_corpus import Case, build_corpus  # noqa: E402

MAX_RSS_GROWTH = 0.10
START, END = "<!-- soak:start -->", "<!-- soak:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--seconds", type=float, default=60.0, help="length of the measured run")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of the same traffic before the first RSS reading")
    p.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    p.add_argument("--workers", type=int, default=None, help="server workers (default: WORKERS or the setting's 2)")
    p.add_argument(
        "--weights",
        type=Path,
        default=REPO / "artifacts/model.safetensors",
        help="weights to serve; a random 784-800-10 model when the file does not exist",
    )
    p.add_argument("--sample", type=float, default=60.0, help="seconds between two readings of the workers' RSS")
    p.add_argument("--seed", type=int, default=0, help="seed of the clients' choice of cases")
    p.add_argument("--out", type=Path, default=REPO / "docs/reliability.md", help="markdown file to update ('-': none)")
    return p.parse_args(argv)


# --- the server ---------------------------------------------------------------------------------------------------


def weights_to_serve(path: Path, tmp: Path) -> Path:
    if path.is_file():
        return path
    import torch

    from model import MLP, MLPConfig, save_weights

    torch.manual_seed(0)
    print(f"{path} not found: serving a random 784-800-10 model", file=sys.stderr)
    return save_weights(tmp / "random.safetensors", MLP(MLPConfig()).eval(), {"note": "random, for the soak test"})


def ready(port: int, server) -> None:
    """Wait for the server to answer /readyz; end the soak with the reason if it does not."""
    try:
        wait_ready(port, server, timeout=120)
    except RuntimeError as exc:
        raise SystemExit(f"soak: {exc}") from None


def workers_of(master: int) -> list[int]:
    """PIDs whose parent is the server's main process."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def rss_kib(pid: int) -> int:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) if match else 0


class RssSampler(threading.Thread):
    """Reads the RSS of each worker every EVERY seconds until stopped (series[pid]: KiB, in order)."""

    def __init__(self, pids: list[int], every: float) -> None:
        super().__init__(daemon=True)
        self.every, self.stopped = every, threading.Event()
        self.series: dict[int, list[int]] = {p: [] for p in pids}

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            for pid, readings in self.series.items():
                try:
                    readings.append(rss_kib(pid))
                except OSError:  # the worker is gone: the restart count says so
                    pass


# --- the clients --------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What every client saw, merged under a lock."""

    statuses: Counter = field(default_factory=Counter)
    mismatches: Counter = field(default_factory=Counter)  # case name → answers whose status differed
    dropped: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, case: Case, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if status != case.status:
                self.mismatches[case.name] += 1

    def drop(self, case: Case, why: str) -> None:
        with self.lock:
            self.dropped.append(f"{case.name}: {why}")


def exchange(conn: http.client.HTTPConnection, method: str, path: str, headers: dict, body: bytes):
    """Send one request and read the whole answer. A server may refuse an over-limit body and close before it is
    all sent (RFC 9110 allows it); its 413 is then still waiting in the socket, so read it as a browser would."""
    try:
        conn.request(method, path, body=body, headers=headers)
        cut_off = False
    except (BrokenPipeError, ConnectionResetError):
        cut_off = True  # getresponse() below tells an answered refusal from a real drop
    response = conn.getresponse()
    response.read()
    response.cut_off = cut_off  # the server stopped reading: this connection is finished whatever the headers say
    return response


def client(port: int, good: list[Case], bad: list[Case], seed: int, until: float, tally: Tally) -> None:
    """Send cases on one keep-alive connection until the deadline, reconnecting only when the server says close."""
    rng, conn, idle_since, used, previous = random.Random(seed), None, time.monotonic(), 0, None
    while time.monotonic() < until:
        case = rng.choice(good if rng.random() < 0.5 else bad)
        method, path, headers, body = case.request()
        if conn is None:
            conn, used = http.client.HTTPConnection("127.0.0.1", port, timeout=60), 0
        t0, idle = time.perf_counter(), time.monotonic() - idle_since
        try:
            response = exchange(conn, method, path, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            tally.drop(
                case,
                f"{exc!r} on a connection idle {idle:.2f} s after {used} requests, "
                f"the last {previous.name if previous else None}",
            )
            conn.close()
            conn = None
            continue
        tally.add(case, response.status, time.perf_counter() - t0)
        idle_since, used, previous = time.monotonic(), used + 1, case
        if response.will_close or response.cut_off or case.code == "request_too_large":
            conn.close()  # the server closes a connection whose body the app left unread
            conn = None
    if conn is not None:
        conn.close()


def drive(port: int, cases: list[Case], clients: int, seconds: float, seed: int) -> Tally:
    good, bad = [c for c in cases if c.ok], [c for c in cases if not c.ok]
    tally, until = Tally(), time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(port, good, bad, seed * 1000 + i, until, tally), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    return tally


# --- the report ---------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summarise(
    args, tally: Tally, seconds: float, rss_start: dict[int, int], rss_end: dict[int, int], restarts: int, n_cases: int
) -> tuple[dict, bool]:
    served = sum(tally.statuses.values())
    errors_5xx = sum(n for s, n in tally.statuses.items() if s >= 500)
    growth = max(((rss_end.get(p, 0) - r) / r for p, r in rss_start.items() if r), default=0.0)
    figures = {
        "served": served,
        "per_second": served / seconds,
        "5xx": errors_5xx,
        "dropped": len(tally.dropped),
        "restarts": restarts,
        "statuses": dict(sorted(tally.statuses.items())),
        "mismatches": dict(tally.mismatches),
        "p50_ms": 1000 * percentile(tally.latencies, 0.5),
        "p99_ms": 1000 * percentile(tally.latencies, 0.99),
        "rss_start": rss_start,
        "rss_end": rss_end,
        "rss_growth": growth,
        "cases": n_cases,
    }
    ok = errors_5xx == 0 and not tally.dropped and restarts == 0 and growth < MAX_RSS_GROWTH and served > 0
    return figures, ok


def _series(series: dict[int, list[int]]) -> str:
    """Each worker's readings in MiB, workers separated by ';'."""
    return "; ".join(", ".join(f"{v / 1024:.0f}" for v in series[p]) or "none" for p in sorted(series))


def markdown(args, f: dict, info: dict, ok: bool) -> str:
    rss = ", ".join(
        f"{f['rss_start'][p] / 1024:.0f} → {f['rss_end'].get(p, 0) / 1024:.0f} MiB" for p in sorted(f["rss_start"])
    )
    mismatch = ", ".join(f"`{k}` ×{v}" for k, v in sorted(f["mismatches"].items())) or "none"
    rows = [
        ("requests served", f"{f['served']:,} ({f['per_second']:.0f}/s)"),
        ("answers by status", ", ".join(f"{s}: {n:,}" for s, n in f["statuses"].items())),
        ("5xx answers (must be 0)", f["5xx"]),
        ("dropped connections (must be 0)", f["dropped"]),
        ("worker restarts (must be 0)", f["restarts"]),
        ("worker RSS after warm-up → end", rss),
        ("largest RSS growth (must be < 10 %)", f"{100 * f['rss_growth']:+.1f} %"),
        (f"worker RSS every {args.sample:g} s (MiB)", _series(f["rss_series"])),
        ("latency p50 / p99", f"{f['p50_ms']:.0f} ms / {f['p99_ms']:.0f} ms"),
        ("status differing from the corpus", mismatch),
    ]
    table = "\n".join(["| measure | value |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows])
    return (
        f"{START}\n### Soak: {'passed' if ok else 'FAILED'}\n\n"
        f"Command: `python benchmarks/soak.py --seconds {args.seconds:g} --clients {args.clients}"
        f"{f' --sample {args.sample:g}' if args.sample != 60 else ''}`; "
        f"{args.warmup:g} s warm-up, then {args.seconds:g} s measured. {f['cases']} corpus cases, half the "
        f"requests good images, half hostile ones; `python -m service.serve` on 127.0.0.1, serving "
        f"{f['weights']}.\n\n"
        f"{machine_line(info)} The CPU was shared with the clients (same machine) and with other work, "
        f"so throughput and latency are a floor; the pass/fail figures do not depend on speed.\n\n{table}\n{END}"
    )


def write_section(path: Path, section: str) -> None:
    """Replace the soak section of the markdown file (or append one)."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="digits-soak-") as tmp:
        cases = build_corpus()
        port, weights = free_port(), weights_to_serve(args.weights, Path(tmp))
        with (Path(tmp) / "server.log").open("wb") as fh:
            server = start_server(weights, port, args.workers, fh)
        try:
            ready(port, server)
            drive(port, cases, args.clients, args.warmup, args.seed + 1)
            pids = workers_of(server.pid)
            rss_start = {p: rss_kib(p) for p in pids}
            sampler = RssSampler(pids, args.sample)
            t0 = time.monotonic()
            sampler.start()
            tally = drive(port, cases, args.clients, args.seconds, args.seed)
            seconds = time.monotonic() - t0
            sampler.stopped.set()
            sampler.join()
            rss_end = {p: rss_kib(p) for p in workers_of(server.pid)}
            restarts = len(set(rss_end) ^ set(pids))
        finally:
            stop(server)
            log = (Path(tmp) / "server.log").read_text(errors="replace")
    figures, ok = summarise(args, tally, seconds, rss_start, rss_end, restarts, len(cases))
    figures["rss_series"] = sampler.series
    figures["weights"] = (
        f"`{args.weights.relative_to(REPO) if args.weights.is_relative_to(REPO) else args.weights}`"
        if args.weights.is_file()
        else "a random 784-800-10 model (no trained weights found)"
    )
    section = markdown(args, figures, info, ok)
    print(section)
    if tally.dropped:
        print("dropped:", *tally.dropped[:10], sep="\n  ", file=sys.stderr)
    if "Traceback" in log:
        print("the server logged a traceback:\n" + log[log.index("Traceback") :][:3000], file=sys.stderr)
    if str(args.out) != "-":
        write_section(args.out, section)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
