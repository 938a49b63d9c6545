"""Recipe variants × seeds, trained side by side, each scored on the upload kinds and the non-digit flags.

    python benchmarks/sweep.py "800=--hidden 800" "512,256=--hidden 512,256" --seeds 0 1 2
    python benchmarks/sweep.py ... --device cuda --jobs 24      # how docs/experiments.md's sixth look ran (H200)

Each variant is NAME=FLAGS: `python -m training` flags on top of the default recipe ("NAME=" for the default
itself). Every run trains on one thread into RUNS/NAME/sSEED/ (a finished run is not trained again), `--jobs` at a
time; then each model is scored as benchmarks/uploads.py (its default sets, `--per-kind 100 --seed 1`, built once) and
benchmarks/ood.py score it. Per variant: the mean over the seeds and their range. On 2 CPU cores keep `--jobs 2`
and expect about 4 minutes per run; on a GPU machine with 16 cores, 24 runs took under 3 minutes to train.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from benchmarks.common import machine, report, table  # noqa: E402


def variant(text: str) -> tuple[str, list[str]]:
    """'NAME=FLAGS' → (NAME, [flags])."""
    name, sep, flags = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=FLAGS (e.g. '512,256=--hidden 512,256'), got {text!r}")
    return name, shlex.split(flags)


def train(weights: Path, flags: list[str], seed: int, device: str) -> tuple[Path, str]:
    """One training run on one thread; (weights, '' or the last lines of its failure)."""
    if (weights.parent / "metrics.json").is_file():
        return weights, ""
    cmd = [sys.executable, "-m", "training", "--no-progress", "--threads", "1", "--device", device, "--seed", str(seed)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*cmd, "--out", str(weights), *flags], cwd=REPO, env=env, capture_output=True, text=True)
    return weights, "" if done.returncode == 0 else (done.stdout + done.stderr)[-600:]


def build_sets(folder: Path) -> None:
    """benchmarks/uploads.py's sets, written for the scoring processes: one file per upload, and index.json."""
    from benchmarks.uploads import uploads
    from training.data import load_mnist, resolve_root

    index = []
    for i, (data, label, kind, name) in enumerate(uploads(load_mnist(resolve_root(None)))):  # its default sets
        (folder / str(i)).write_bytes(data)
        index.append((label, kind, name))
    (folder / "index.json").write_text(json.dumps(index))


def read_sets(folder: Path) -> list[tuple[bytes, int, str, str]]:
    """What build_sets wrote, as benchmarks/uploads.py's (bytes, label, kind, set) tuples."""
    index = json.loads((folder / "index.json").read_text())
    return [((folder / str(i)).read_bytes(), label, kind, name) for i, (label, kind, name) in enumerate(index)]


def score(weights: Path, sets: Path) -> dict:
    """Accuracy per group of upload kinds (%), the non-digit flags and MNIST's, as the two benchmarks measure."""
    import torch

    from benchmarks.ood import measure as flags
    from benchmarks.uploads import measure as uploads
    from training.data import load_mnist, resolve_root

    torch.set_num_threads(1)
    rows = uploads(weights, read_sets(sets))
    ood = flags(weights, load_mnist(resolve_root(None)))
    groups = {
        "photos": [k for k in rows if k.startswith("photo_")],
        "scans and pens": [k for k, r in rows.items() if r["set"] == "captures" and not k.startswith("photo_")],
        "canvas-like": [k for k, r in rows.items() if r["set"] == "realistic"],
        **{k: [k] for k, r in rows.items() if r["set"] in ("clean", "writers")},
    }
    out = {g: 100 * sum(rows[k]["correct"] for k in ks) / sum(rows[k]["n"] for k in ks) for g, ks in groups.items()}
    return {
        "MNIST test": 100 * ood["accuracy"],
        **out,
        "drawings flagged": ood["drawings"][0],
        "letters flagged": ood["letters"][0],
        "MNIST flagged": 100 * ood["mnist_flagged"],
    }


def summary(scores: dict[str, list[dict]]) -> str:
    """One row per variant: each figure's mean over the seeds, and its range."""
    columns = list(next(iter(scores.values()))[0])
    rows = []
    for name, runs in scores.items():
        cells = []
        for c in columns:
            v = [r[c] for r in runs]
            cells.append(f"{np.mean(v):.2f} ({min(v):.2f}–{max(v):.2f})" if len(v) > 1 else f"{v[0]:.2f}")
        rows.append((name, len(runs), *cells))
    return table(("variant", "seeds", *columns), rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("variants", type=variant, nargs="+", help="NAME=FLAGS, e.g. '512,256=--hidden 512,256'")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=2, help="trainings (then scorings) side by side")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "sweep", help="where the runs go (RUNS/NAME/sS/)")
    args = p.parse_args(argv)
    runs = [(name, flags, s) for name, flags in args.variants for s in args.seeds]
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.jobs) as pool:
        sets = Path(tmp)
        built = pool.submit(build_sets, sets)
        trained = [
            pool.submit(train, args.runs / name / f"s{s}" / "model.safetensors", flags, s, args.device)
            for name, flags, s in runs
        ]
        failed = [f"{w}: {error}" for w, error in (t.result() for t in trained) if error]
        if failed:
            print("sweep: a training run failed:\n" + "\n".join(failed), file=sys.stderr)
            return 1
        built.result()
        scored = [pool.submit(score, t.result()[0], sets) for t in trained]
        scores: dict[str, list[dict]] = {}
        for (name, _, _), s in zip(runs, scored):
            scores.setdefault(name, []).append(s.result())
    flags = {name: shlex.join(f) for name, f in args.variants}
    md = summary(scores) + "\n\n" + "\n".join(f"- {n}: `{f or '(the default recipe)'}`" for n, f in flags.items())
    report("sweep", argv, machine(), md, {"flags": flags, "seeds": args.seeds, "scores": scores})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
