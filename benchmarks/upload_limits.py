"""What the largest upload the service takes costs it: time and memory to preprocess a photo at the pixel limit
(8192×6144, a 50-megapixel phone sensor's frame) in each format a phone or a drawing program saves, and a
12-megapixel one beside it.

    python benchmarks/upload_limits.py            # each file preprocessed 3 times in its own fresh process

Each photo is a grey page with paper grain and a pen stroke. Each is preprocessed in a fresh Python process, after
one small upload has warmed it up; the peak resident memory it adds is the process's high-water mark (VmHWM, reset
by /proc/self/clear_refs once warm) over what it held before, so this upload's alone. The time is the median of the
repeats. The body and pixel limits (service/settings.py, service/decode.py) bound both.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from service_kit import grainy_page  # noqa: E402  (test data, shared on purpose)

from benchmarks.common import machine, report, table  # noqa: E402
from service.decode import MAX_PIXELS  # noqa: E402  (importing it registers HEIC with Pillow)

SIZES = ((8192, 6144), (4032, 3024))  # the pixel limit's frame; a 12-megapixel phone's
FORMATS = (("JPEG", {"quality": 90}), ("HEIF", {"quality": 60}), ("AVIF", {"quality": 60}), ("PNG", {}))

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from service.preprocess import preprocess

def kib(field):  # this process's own resident memory (VmRSS) or its high-water mark (VmHWM)
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1])

data = open(sys.argv[2], "rb").read()
preprocess(open(sys.argv[3], "rb").read())  # imports and first-call costs, on a small upload
open("/proc/self/clear_refs", "w").write("5")  # the high-water mark starts again from the memory held now
before = kib("VmRSS")
times = []
for _ in range(int(sys.argv[4])):
    start = time.perf_counter()
    preprocess(data)
    times.append(1000 * (time.perf_counter() - start))
print(json.dumps({"ms": statistics.median(times), "added_mib": (kib("VmHWM") - before) / 1024}))
"""


def measure(path: Path, warm: Path, repeats: int) -> dict:
    """Median ms and the peak memory one preprocess of the file adds, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), str(path), str(warm), str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    assert SIZES[0][0] * SIZES[0][1] == MAX_PIXELS, "the first size is the pixel limit"
    rows, data = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.png"
        grainy_page((200, 150)).save(warm)
        for size in SIZES:
            for mode in ("RGB",) if size != SIZES[0] else ("RGB", "L"):
                img = grainy_page(size, mode)
                for fmt, options in FORMATS if mode == "RGB" else (("PNG", {}),):
                    buf = io.BytesIO()
                    img.save(buf, fmt, **options)
                    path = Path(tmp) / f"upload.{fmt.lower()}"
                    path.write_bytes(buf.getvalue())
                    got = measure(path, warm, args.repeats)
                    name = f"{size[0]}×{size[1]} {'HEIC' if fmt == 'HEIF' else fmt} {mode}"
                    data[name] = {"bytes": len(buf.getvalue()), **got}
                    mb = f"{len(buf.getvalue()) / 2**20:.1f}"
                    rows.append((name, mb, f"{got['ms']:.0f}", f"{got['added_mib']:.0f}"))
    md = table(("upload", "file MiB", "preprocess ms (median)", "peak memory added, MiB"), rows)
    report("upload_limits", argv, machine(), md, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
