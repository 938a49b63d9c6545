"""What every benchmark needs: the machine it ran on, a markdown table, and a place to write results."""

from __future__ import annotations

import io
import json
import os
import platform
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from service.handler import ModelHandler
from service.inference import Predictor
from service.settings import from_env

REPO = Path(__file__).resolve().parent.parent
BOUNDARY = "digitsbenchboundary"  # of every multipart body the benchmarks send
RESULTS = REPO / "artifacts" / "benchmarks"
DOCS = REPO / "docs"


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare figures: cores, CPU, torch, threads, load at the start."""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"Machine: {info['nproc']} cores ({info['cpu']}), torch {info['torch']}, {info['torch_threads']} torch "
        f"threads, CUDA {'yes' if info['cuda'] else 'no'}; "
        f"1-minute load average at the start {info['load_average_1min']}."
    )


def served_predictor(weights: Path) -> Predictor:
    """The service's Predictor for these weights, as a worker builds it: their out-of-distribution checks and the
    thresholds the settings give (DIGITS_UNCERTAIN_BELOW and the others' environment variables apply)."""
    return ModelHandler.from_weights(weights, "bench", from_env()).predictor


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, command: str, info: dict[str, Any], markdown: str, data: Any) -> Path:
    """Write NAME.md (command, machine, table) and NAME.json under artifacts/benchmarks/; return the .md path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    md = RESULTS / f"{name}.md"
    md.write_text(f"Command: `{command}`\n\n{machine_line(info)}\n\n{markdown}\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({"command": command, "machine": info, "results": data}, indent=2))
    return md


def report(name: str, argv: Sequence[str] | None, info: dict[str, Any], markdown: str, data: Any, *also: Path) -> Path:
    """Print the table, write it with benchmarks/NAME.py's command line, and say where it (and ALSO) went."""
    command = f"python benchmarks/{name}.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(markdown)
    md = write_results(name, command.strip(), info, markdown, data)
    print("written to " + " and ".join(str(p) for p in (md, *also)))
    return md


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Lay a figure out, write it at 100 dpi and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)


def bar_panels(path: Path, names: list[str], panels: list[tuple[str, list]], rotation: int, height: float) -> None:
    """Side by side, one bar chart per (title, values), each bar labelled with its value; the first panel is an
    accuracy in %, drawn from 1 below its lowest bar to 100. Written to PATH."""
    fig, axes = pyplot().subplots(1, len(panels), figsize=(14, height))
    for ax, (title, values) in zip(axes, panels):
        ax.bar(names, values, color="tab:blue")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=rotation)
        for i, v in enumerate(values):
            ax.annotate(f"{v:.1f}", (i, v), ha="center", va="bottom", fontsize=8)
    axes[0].set_ylim(min(panels[0][1]) - 1, 100)
    save_figure(fig, path)


def replace_section(path: Path, heading: str, text: str) -> None:
    """Put TEXT (starting with HEADING, a '## ' line) in place of that section of a markdown file (up to the next
    '## ' heading), or append it; the rest of the file stays as it is."""
    old = path.read_text() if path.is_file() else ""
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text.rstrip() + "\n\n", old, count=1) if pattern.search(old) else None
    path.write_text(new.rstrip() + "\n" if new is not None else old.rstrip() + "\n\n" + text.rstrip() + "\n")


def png_bytes(image) -> bytes:
    """A uint8 array (H, W) as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def small_png() -> bytes:
    """A 28×28 drawing of a '7': the size a client that scales its canvas first would send."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(img).line([(6, 6), (21, 6), (12, 23)], fill=255, width=3)
    return png_bytes(np.asarray(img))


def multipart(images: list[bytes]) -> bytes:
    """A multipart/form-data body (boundary BOUNDARY) with each image as a file field named 'image'."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="{i}.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
        for i, data in enumerate(images)
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
