"""CPU time of one PNG request, in process, on one thread: the whole WSGI app, as a worker runs it.

    python benchmarks/request_cpu.py                       # this tree: median CPU µs per request, and a profile
    python benchmarks/request_cpu.py --against b70c11a     # also an older revision, rounds interleaved
    python benchmarks/request_cpu.py --profile 20          # the 20 functions with the most own time
    python benchmarks/request_cpu.py --images 64 --requests 100  # the batch path: 64 PNGs per request
    python benchmarks/request_cpu.py --weights OLD.safetensors --alternate NEW.safetensors  # two models, ABAB
    python benchmarks/request_cpu.py --pillow  # ABAB: PNGs decoded by Pillow, then as served (service/grey_png.py)
    python benchmarks/request_cpu.py --against 6313048 --interleave  # ABAB: that revision's app and this tree's

Each request is a multipart POST of one 28×28 PNG (--images: that many, as benchmarks/serve.py batches them) to
/api/predict, with the Prometheus multiprocess files in a temporary folder, as under gunicorn: parsing,
preprocessing, the network, the out-of-distribution checks, the JSON answer and the metrics all count. The time is
the thread's CPU time (time.thread_time), so other jobs on a shared machine slow it less than wall time; trees are
compared round after round in separate processes (each tree imports its own code), and the medians are reported.
Two weights (--alternate) are served by this tree's code in one process, request by request in turn (ABAB), so the
machine's drift, which moves whole rounds by ±30 % on a shared VM, falls on both alike: their ratio is what counts.
--against REV --interleave does the same with REV's code (its packages imported from a temporary worktree).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")  # as service/wsgi.py sets them for a worker

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

HEADING = "## CPU per request"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", type=Path, default=REPO / "artifacts/model.safetensors", help="weights to serve")
    p.add_argument("--against", default=None, help="git revision to compare with (a temporary worktree)")
    p.add_argument("--alternate", type=Path, default=None, help="other weights, served request by request in turn")
    p.add_argument("--pillow", action="store_true", help="alternate with every PNG decoded by Pillow instead")
    p.add_argument("--interleave", action="store_true", help="with --against: both trees in one process, ABAB")
    p.add_argument("--rounds", type=int, default=7, help="rounds per tree (interleaved)")
    p.add_argument("--requests", type=int, default=1000, help="requests per round")
    p.add_argument("--profile", type=int, default=0, help="print the N functions with the most own time")
    p.add_argument("--path", default="/api/predict", help="route to POST to (with its query string)")
    p.add_argument("--images", type=int, default=1, help="PNGs in each request's multipart body")
    p.add_argument("--out", type=Path, default=None, help="markdown file for the table and profiles ('-': none)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one round, JSON on stdout
    args = p.parse_args(argv)
    if args.interleave and not args.against:
        p.error("--interleave compares with another revision: give it as --against REV")
    return args


def png_request(images: int = 1) -> tuple[bytes, str]:
    """A multipart body holding IMAGES 28×28 PNGs of a '7' (what the page and most clients send) and its type."""
    from benchmarks.common import MULTIPART_TYPE, multipart, small_png

    return multipart([small_png()] * images), MULTIPART_TYPE


def make_app(weights: Path):
    """The app as a gunicorn worker holds it: metrics in multiprocess files, one torch thread."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="digits-cpu-")
    import torch

    torch.set_num_threads(1)
    from service.app import create_app

    return create_app({"WEIGHTS_PATH": str(weights), "MODELS_DIR": tempfile.mkdtemp(prefix="digits-none-")})


def caller(app, path: str, images: int = 1):
    """A function that sends one request through the WSGI app and checks it succeeded."""
    from werkzeug.test import EnvironBuilder

    body, ctype = png_request(images)
    route, _, query = path.partition("?")
    template = EnvironBuilder(path=route, query_string=query, method="POST", data=body, content_type=ctype)
    environ = template.get_environ()
    status = []

    def start_response(code, headers, exc_info=None):
        status.append(code)

    def call():
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        b"".join(app.wsgi_app(env, start_response))
        if not status.pop().startswith("200"):
            raise SystemExit(f"request_cpu: {path} did not answer 200")

    return call


def warmed(call):
    """CALL, after 200 requests that fill the caches and take the first-request costs."""
    for _ in range(200):
        call()
    return call


def cpu_us(call) -> float:
    """The thread's CPU µs for one request."""
    t0 = time.thread_time_ns()
    call()
    return (time.thread_time_ns() - t0) / 1000


def one_round(args: argparse.Namespace) -> list[float]:
    """CPU µs of each of args.requests requests, after a warm-up."""
    call = warmed(caller(make_app(args.weights), args.path, args.images))
    return [cpu_us(call) for _ in range(args.requests)]


def alternate(args: argparse.Namespace) -> list[float]:
    """Per round, the ratio of the second's median CPU µs per request to the first's, the two taking turns
    request by request (which goes first swaps every pair): --weights then --alternate, two apps in one process;
    with --pillow one app, first with every PNG decoded by Pillow, then as it serves; with --against REV
    --interleave, REV's app and this tree's in one process."""
    first = warmed(caller(make_app(args.weights), args.path, args.images))
    if args.pillow:
        return take_turns(("Pillow decoding", "this tree"), [pillow_only(first), first], args)
    if args.alternate:
        second = warmed(caller(make_app(args.alternate), args.path, args.images))
        return take_turns((str(args.weights), str(args.alternate)), [first, second], args)
    tree = worktree(args.against)
    try:
        other = warmed(caller(app_of_tree(tree, args.weights), args.path, args.images))
        return take_turns((args.against, "this tree"), [other, first], args)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)


def app_of_tree(tree: Path, weights: Path):
    """TREE's app in this process: its service, model and training packages imported from TREE (this tree's set
    aside meanwhile and put back after), with Prometheus's registry accepting the same metric names again."""
    from prometheus_client import REGISTRY

    def ours(name: str) -> bool:
        return name.split(".")[0] in ("service", "model", "training")

    aside = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in aside:
        del sys.modules[name]
    REGISTRY.register = lambda collector: None  # an instance attribute, over the method: removed below
    sys.path.insert(0, str(tree))
    try:
        return make_app(weights)
    finally:
        sys.path.remove(str(tree))
        del REGISTRY.register
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]  # TREE's modules live on in its app's functions
        sys.modules.update(aside)


def take_turns(names: tuple[str, str], calls: list, args: argparse.Namespace) -> list[float]:
    """The two calls request by request, args.rounds rounds of args.requests each: the ratios of their medians."""
    ratios = []
    for r in range(args.rounds):
        times: list[list[float]] = [[], []]
        for i in range(args.requests):
            for k in (0, 1) if i % 2 == 0 else (1, 0):
                times[k].append(cpu_us(calls[k]))
        a, b = (statistics.median(t) for t in times)
        ratios.append(b / a)
        print(f"round {r + 1}: {names[0]} {a:.0f} µs, {names[1]} {b:.0f} µs, ratio {b / a:.3f}", flush=True)
    print(f"{names[1]} / {names[0]}: median ratio {statistics.median(ratios):.3f} over {args.rounds} rounds")
    return ratios


def pillow_only(call):
    """CALL with service.grey_png's OpenCV path switched off while it runs: every PNG decoded by Pillow."""
    from service import grey_png

    def pillow_call():
        read, grey_png.read = grey_png.read, lambda *_: None
        try:
            call()
        finally:
            grey_png.read = read

    return pillow_call


def profile(args: argparse.Namespace) -> None:
    """cProfile of args.requests requests: the functions with the most own time."""
    import cProfile
    import pstats

    call = warmed(caller(make_app(args.weights), args.path, args.images))
    prof = cProfile.Profile()
    prof.runcall(lambda: [call() for _ in range(args.requests)])
    stats = pstats.Stats(prof).strip_dirs().sort_stats("tottime")
    stats.print_stats(args.profile)


def run_child(tree: Path, args: argparse.Namespace, *extra: str) -> str:
    """Run this script's child mode with TREE's code in a fresh process; return what it printed."""
    cmd = [sys.executable, str(tree / "benchmarks/request_cpu.py"), "--weights", str(args.weights)]
    cmd += ["--requests", str(args.requests), "--path", args.path, "--images", str(args.images), *extra]
    return subprocess.run(cmd, cwd=tree, check=True, capture_output=True, text=True).stdout


def child_round(tree: Path, args: argparse.Namespace) -> float:
    """Median CPU µs per request of one round run by TREE's code."""
    return json.loads(run_child(tree, args, "--child").strip().splitlines()[-1])["median_us"]


def child_profile(tree: Path, args: argparse.Namespace) -> str:
    """The top of TREE's profile: the call count and time, and the 15 functions with the most own time."""
    text = run_child(tree, args, "--profile", "15")
    calls = next(line.strip() for line in text.splitlines() if "function calls" in line)
    table = [line for line in text[text.index("ncalls") :].splitlines() if line.strip()]
    return "\n".join([calls, *table])


def worktree(rev: str) -> Path:
    """A temporary checkout of REV with this tree's benchmark scripts (older trees may lack them)."""
    path = Path(tempfile.mkdtemp(prefix="digits-rev-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=REPO, check=True, capture_output=True)
    (path / "benchmarks").mkdir(exist_ok=True)
    for script in ("request_cpu.py", "common.py"):  # the harness is this tree's; the service measured is REV's
        (path / "benchmarks" / script).write_text((REPO / "benchmarks" / script).read_text())
    return path


def compare(args: argparse.Namespace) -> dict[str, tuple[float, list[float], str]]:
    """Rounds of each tree, interleaved; the median of the round medians, the rounds and a profile, per tree."""
    trees = {"this tree": REPO}
    if args.against:
        trees[args.against] = worktree(args.against)
    try:
        results: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            order = list(trees.items())
            for name, tree in order if r % 2 == 0 else order[::-1]:  # which goes first swaps every round: the
                results[name].append(child_round(tree, args))  # first of a pair measured up to 1.4x slower here
            print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.0f} µs" for n, v in results.items()), flush=True)
        profiles = {name: child_profile(tree, args) for name, tree in trees.items()}
    finally:
        for tree in trees.values():
            if tree != REPO:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
    for name, values in results.items():
        print(f"{name}: {statistics.median(values):.0f} µs CPU per request (median of {len(values)} rounds)")
    return {name: (statistics.median(v), v, profiles[name]) for name, v in results.items()}


def report(results: dict[str, tuple[float, list[float], str]], argv: list[str]) -> str:
    from benchmarks.common import cpu_model

    lines = [
        HEADING,
        "",
        f"Command: `python benchmarks/request_cpu.py {' '.join(argv)}`  ",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; one thread, time.thread_time; rounds interleaved (which "
        "tree goes first swaps every round), each in a fresh process with that tree's code.",
        "",
        "| tree | CPU µs per PNG request (median of rounds) | rounds |",
        "| --- | ---: | --- |",
        *(f"| {n} | {m:,.0f} | {', '.join(f'{x:,.0f}' for x in v)} |" for n, (m, v, _) in results.items()),
        "",
    ]
    for name, (_, _, prof) in results.items():
        lines += [f"Profile, {name} (cProfile's own overhead inflates every figure):", "", "```", prof, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        times = one_round(args)
        print(json.dumps({"median_us": statistics.median(times), "mean_us": statistics.fmean(times)}))
    elif args.profile:
        profile(args)
    else:
        from benchmarks.common import cpu_model, replace_section

        print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
        if args.alternate or args.pillow or args.interleave:
            alternate(args)
            return 0
        results = compare(args)
        if args.out is not None and str(args.out) != "-":
            replace_section(args.out, HEADING, report(results, argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
