"""`digits predict IMG…`: the service's request path (service.handler) on local files, no server.
`digits export`: the network as ONNX or a Triton model repository (service.export).

Exit status: 0 when every image was classified; 1 when any file could not be read or classified (each one is
reported on stderr in one line, the others are still answered); 2 for bad usage or unusable weights, or an
export that could not be written (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from model import WeightsError
from service.decode import NAMES
from service.errors import ApiError
from service.export import ExportError, export
from service.handler import ModelHandler
from service.inputs import Inputs, Options
from service.preprocess import MODES
from service.respond import prediction_dicts
from service.settings import from_env


def build_parser(settings: dict) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digits", description="Recognise handwritten digits in image files.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify image files", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("images", nargs="+", type=Path, help=f"image files ({NAMES})")
    p.add_argument(
        "--weights", type=Path, default=Path(settings["WEIGHTS_PATH"]), help="weights file (env DIGITS_WEIGHTS)"
    )
    p.add_argument("--mode", choices=MODES, default="auto", help="auto: centre and scale like MNIST; raw: as is")
    p.add_argument("--activations", action="store_true", help="show every layer's activations")
    p.add_argument("--json", action="store_true", help="print the same JSON as POST /api/predict, one line per image")
    _add_export(sub, settings)
    return parser


def _add_export(sub: argparse._SubParsersAction, settings: dict) -> None:
    e = sub.add_parser(
        "export", help="export the network as ONNX", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    e.add_argument(
        "--weights", type=Path, default=Path(settings["WEIGHTS_PATH"]), help="weights file (env DIGITS_WEIGHTS)"
    )
    e.add_argument("--format", choices=("onnx",), default="onnx", help="input [N, 784] → probabilities [N, 10]")
    e.add_argument("--out", type=Path, help="the ONNX file to write")
    e.add_argument("--triton", type=Path, metavar="DIR", help="write a Triton model repository: DIR/NAME/…")
    e.add_argument("--name", default=settings["MODEL_NAME"], help="model name in the Triton repository")


def _export(args: argparse.Namespace) -> int:
    """Write the export; print each file written."""
    if not (args.out or args.triton):
        raise ValueError("digits export needs --out FILE.onnx, --triton DIR, or both")
    for path in export(args.weights, args.out, args.triton, args.name):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Classify each image; print one line (or one JSON object) per image."""
    try:
        settings = from_env()
        args = build_parser(settings).parse_args(argv)
        if args.command == "export":
            return _export(args)
        handler = ModelHandler.from_weights(args.weights, settings["MODEL_NAME"], settings)
    except (WeightsError, ExportError, ValueError) as exc:
        print(f"digits: error: {exc}", file=sys.stderr)
        return 2
    options = Options(activations=args.activations, mode=args.mode)
    failed = 0
    for path in args.images:
        answer = _classify(handler, path, options)
        if answer is None:
            failed += 1
            continue
        print(json.dumps({"file": str(path), **answer}) if args.json else _text(path, answer, args.activations))
    return 1 if failed else 0


def _classify(handler: ModelHandler, path: Path, options: Options) -> dict | None:
    """One image's answer, or None after reporting on stderr why it has none."""
    try:
        inputs = Inputs([path.read_bytes()], None, batch=False)
        return prediction_dicts(*handler.handle(inputs, options), options)[0]
    except OSError as exc:
        print(f"digits: {path}: cannot read: {exc.strerror}", file=sys.stderr)
    except ApiError as exc:
        print(f"digits: {path}: {exc.message}", file=sys.stderr)
    return None


def _text(path: Path, answer: dict, activations: bool) -> str:
    flag = "  (uncertain)" if answer["uncertain"] else ""
    line = f"{path}: {answer['digit']}  {100 * answer['confidence']:.1f} %{flag}"
    for layer in answer.get("layers", []) if activations else []:
        a = np.asarray(layer["a"])
        strongest = ", ".join(f"#{i} {a[i]:.3f}" for i in np.argsort(-a)[:5])
        line += f"\n  {layer['name']:>8} ({layer['size']} {layer['activation']}): strongest {strongest}"
    return line


if __name__ == "__main__":
    sys.exit(main())
