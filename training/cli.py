"""`python -m training` / `digits-train`: train the MLP on MNIST and save its weights.

Every flag is derived from a field of model.config.MLPConfig (the network) or training.settings.TrainSettings (how to
fit it): its name, type, default, help and choices are declared there, once.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import Field, fields
from pathlib import Path
from typing import Any

from model.config import MLPConfig
from training.errors import OutputError, UsageError
from training.recipes import RECIPES
from training.settings import TrainSettings


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Parse --hidden: '800' or '512,256'."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 800 or 512,256, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"every hidden layer needs at least 1 neuron, got {text!r}")
    return sizes


PARSERS = {int: int, float: float, str: str, Path: Path, tuple[int, ...]: hidden_sizes}  # field type → flag parser


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def option_fields(cls: type) -> list[tuple[Field, Any]]:
    """The fields of a settings dataclass that are flags, each with its resolved type."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in fields(cls) if f.init and "help" in f.metadata]


def add_flag(group: argparse._ArgumentGroup, f: Field, annotation: Any) -> None:
    """One field as one flag: bool → --x/--no-x, a field with const → an optional value, others → a typed value."""
    flag, meta, default = "--" + f.name.replace("_", "-"), f.metadata, f.default
    if annotation is bool:
        group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=meta["help"])
        return
    extra = {key: meta[key] for key in ("choices", "metavar") if key in meta}
    if "const" in meta:
        extra |= {"nargs": "?", "const": meta["const"]}
    group.add_argument(flag, type=PARSERS[_without_none(annotation)], default=default, help=meta["help"], **extra)


def _without_none(annotation: Any) -> Any:
    """X for X | None; the annotation itself otherwise."""
    if isinstance(annotation, types.UnionType):
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return annotation


def build_parser() -> argparse.ArgumentParser:
    """Flags for every MLPConfig field (group "model") and every TrainSettings field, defaults shown in --help."""
    parser = OneLineParser(
        prog="digits-train", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        default="default",
        help="a named set of defaults (see training/recipes.py); explicit flags override it",
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for cls, default_group in ((MLPConfig, "model"), (TrainSettings, "training")):
        for f, annotation in option_fields(cls):
            name = f.metadata.get("group", default_group)
            add_flag(groups.setdefault(name, parser.add_argument_group(name)), f, annotation)
    return parser


def parse_settings(argv: list[str] | None = None) -> TrainSettings:
    """Turn command-line flags into TrainSettings; an impossible network is one line and exit status 2."""
    parser = build_parser()
    recipe = parser.parse_known_args(argv)[0].recipe
    parser.set_defaults(**RECIPES[recipe])
    args = vars(parser.parse_args(argv))
    args.pop("recipe")
    network = {f.name: args.pop(f.name) for f, _ in option_fields(MLPConfig)}
    try:
        return TrainSettings(model=MLPConfig(**network), **args)
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> int:
    """Train; a problem the user can fix ends with one line on stderr and exit status 2."""
    settings = parse_settings(argv)
    from training.trainer import run  # after parsing, so --help stays fast

    try:
        run(settings)
    except (UsageError, OutputError) as exc:
        print(f"digits-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"digits-train: interrupted. {exc}".rstrip(), file=sys.stderr)
        return 130
    return 0
