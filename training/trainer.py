"""One training run from settings to saved weights: data, model, epochs, checkpoints, final report."""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from model.files import CURVES, FEATURE_STATS, METRICS, TOP_IMAGES
from model.mlp import MLP
from model.weights import library_versions, save_weights
from training import distributed as dist
from training.artifacts import Scalars, plot_history, write_metrics
from training.augment import AUGMENTS
from training.checkpoint import load_checkpoint, save_checkpoint
from training.data import load_mnist, resolve_root, split_validation, to_inputs
from training.device import pick_device, use_amp
from training.errors import UsageError
from training.excitations import save_top_images
from training.feature_stats import save_feature_stats
from training.interrupts import StepBoundaryInterrupt
from training.loop import EpochProgress, confusion_matrix, epoch_order, evaluate, train_epoch
from training.optim import make_optimizer, make_scheduler
from training.settings import TrainSettings


def _log(message: str, d: dist.Dist) -> None:
    if d.is_main:
        tqdm.write(message, file=sys.stderr)


AGREE_EVERY = 8  # steps between the ranks' agreements on whether to stop (one tiny all-reduce each)


def check_settings(s: TrainSettings) -> None:
    """Refuse impossible settings with a message that names the flag."""
    for flag, value, ok in (
        ("--epochs", s.epochs, s.epochs >= 1),
        ("--batch-size", s.batch_size, s.batch_size >= 1),
        ("--lr", s.lr, s.lr > 0),
        ("--subset", s.subset, s.subset is None or s.subset > s.val_size),
    ):
        if not ok:
            hint = f" (must exceed --val-size {s.val_size})" if flag == "--subset" else ""
            raise UsageError(f"{flag} {value}: out of range{hint}")
    if s.augment not in AUGMENTS:
        raise UsageError(f"--augment {s.augment!r}: choose one of {', '.join(AUGMENTS)}")
    if s.resume is not None and not s.resume.is_file():
        raise UsageError(f"--resume {s.resume}: no such checkpoint")
    try:
        s.model_config()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class Run:
    """State of one training run, shared by its small steps."""

    def __init__(self, s: TrainSettings) -> None:
        check_settings(s)
        self.s, self.d = s, dist.from_env()
        self.device = pick_device(s.device)
        if self.device.type == "cuda" and self.d.enabled:
            self.device = torch.device("cuda", self.d.local_rank)
            torch.cuda.set_device(self.device)
        self.amp = use_amp(s.amp, self.device)
        if s.threads:
            torch.set_num_threads(s.threads)
        torch.manual_seed(s.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        dist.init(self.d, self.device)
        self.history: list[dict[str, float]] = []
        self.start_epoch, self.progress = 0, EpochProgress()
        self.best: tuple[float, dict[str, torch.Tensor]] | None = None
        self.interrupt = StepBoundaryInterrupt(repeat_stops_at_once=not self.d.enabled)
        self.scalars = Scalars(s.tensorboard if self.d.is_main else None)

    def load_data(self) -> None:
        t0 = time.perf_counter()
        mnist = load_mnist(resolve_root(self.s.data_dir, self.s.download))
        self.fingerprint = mnist.fingerprint()
        x, y = mnist.train_x, mnist.train_y
        if self.s.subset:
            x, y = x[: self.s.subset], y[: self.s.subset]
        tx, ty, vx, vy = split_validation(x, y, self.s.val_size)
        dev = self.device
        self.train_x, self.train_y = to_inputs(tx, dev), ty.to(dev)
        self.val_x, self.val_y = to_inputs(vx, dev), vy.to(dev)
        self.test_images, self.test_x, self.test_y = mnist.test_x, to_inputs(mnist.test_x, dev), mnist.test_y.to(dev)
        _log(
            f"data: {len(tx)} train / {len(vx)} validation / {len(self.test_y)} test images on {dev} "
            f"(fingerprint {self.fingerprint}, {time.perf_counter() - t0:.1f}s)",
            self.d,
        )

    def build(self) -> None:
        self.model = MLP(self.s.model_config()).to(self.device)
        self.net = DDP(self.model) if self.d.enabled else self.model
        self.steps_per_epoch = -(
            -len(epoch_order(len(self.train_x), 0, 0, self.d.rank, self.d.world_size)) // self.s.batch_size
        )
        self.opt = make_optimizer(self.s.optimizer, self.model, self.s.lr, self.s.weight_decay)
        self.sched = make_scheduler(self.s.scheduler, self.opt, self.s.lr, self.s.epochs * self.steps_per_epoch)
        if self.s.resume:
            self.restore(load_checkpoint(self.s.resume))

    # --- checkpoints -------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this run stands."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict() if self.sched else None,
            "epoch": self.start_epoch,
            "step": self.progress.step,
            "loss_sum": float(self.progress.loss_sum),
            "samples": self.progress.samples,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "history": self.history,
            "best": self.best,
            "config": self.model.config.to_dict(),
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.s).items()},
            "world_size": self.d.world_size,
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        if ckpt["config"] != self.model.config.to_dict():
            raise UsageError(
                f"--resume {self.s.resume}: checkpoint is for model {ckpt['config']}, "
                f"not {self.model.config.to_dict()}; pass the same model flags"
            )
        self._check_same_schedule(ckpt)
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        if self.sched and ckpt["scheduler"]:
            self.sched.load_state_dict(ckpt["scheduler"])
        self.start_epoch, self.history, self.best = ckpt["epoch"], ckpt["history"], ckpt["best"]
        self.progress = EpochProgress(ckpt["step"], ckpt["loss_sum"], ckpt["samples"])
        torch.set_rng_state(ckpt["rng"])
        if ckpt["cuda_rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        _log(f"resumed from {self.s.resume}: epoch {self.start_epoch + 1}, step {self.progress.step}", self.d)

    def _check_same_schedule(self, ckpt: dict[str, Any]) -> None:
        """The batch order and LR schedule depend on these; resuming with others would not continue the same run."""
        saved = {
            "--epochs": ckpt["settings"]["epochs"],
            "--batch-size": ckpt["settings"]["batch_size"],
            "processes (torchrun)": ckpt.get("world_size", 1),
            "--seed": ckpt["settings"]["seed"],
        }
        now = {
            "--epochs": self.s.epochs,
            "--batch-size": self.s.batch_size,
            "processes (torchrun)": self.d.world_size,
            "--seed": self.s.seed,
        }
        differ = [f"{k} {saved[k]} (now {now[k]})" for k in saved if saved[k] != now[k]]
        if differ:
            raise UsageError(
                f"--resume {self.s.resume}: the checkpoint was made with {', '.join(differ)}; "
                "resume with the same settings"
            )

    def checkpoint(self) -> None:
        if self.d.is_main and not self.s.dry_run:
            try:
                save_checkpoint(self.s.checkpoint_path, self.state())
            except OSError as exc:  # read-only folder, full disk: one line, not a traceback
                raise UsageError(
                    f"cannot write checkpoint {self.s.checkpoint_path}: {exc.strerror}; "
                    "the previous checkpoint and weights were left as they were"
                ) from None

    # --- epochs ------------------------------------------------------------------------------------------------
    def fit(self) -> float:
        """Train the remaining epochs; return seconds spent."""
        t0 = time.perf_counter()
        try:
            with self.interrupt:  # Ctrl-C lands between steps: the checkpoint below then resumes exactly
                for epoch in range(self.start_epoch, self.s.epochs):
                    self.one_epoch(epoch)
                    self.stop_point(self.progress, at_epoch_end=True)
                    if self.s.dry_run:
                        break
        except KeyboardInterrupt:
            self.checkpoint()
            if not self.d.is_main:
                raise KeyboardInterrupt(f"(rank {self.d.rank}; rank 0 saved the checkpoint)") from None
            raise KeyboardInterrupt(
                f"Checkpoint saved to {self.s.checkpoint_path}; continue with --resume {self.s.checkpoint_path}"
            ) from None
        return time.perf_counter() - t0

    def stop_point(self, progress: EpochProgress, at_epoch_end: bool = False) -> None:
        """Where Ctrl-C takes effect: after a step. Under torchrun the ranks agree first, every AGREE_EVERY steps and
        at the end of each epoch, so they all stop after the same step even when the signal reaches them a step
        apart; a rank that stopped alone would leave the others waiting in their next all-reduce."""
        if self.d.enabled:
            if progress.step % AGREE_EVERY and not at_epoch_end:
                return
            self.interrupt.requested = dist.any_across(self.interrupt.requested, self.d, self.device)
        self.interrupt.check()

    def one_epoch(self, epoch: int) -> None:
        t0 = time.perf_counter()
        order = epoch_order(len(self.train_x), self.s.seed, epoch, self.d.rank, self.d.world_size)
        if self.s.dry_run:
            order = order[: self.s.batch_size]
        bar = tqdm(
            total=-(-len(order) // self.s.batch_size),
            initial=self.progress.step,
            desc=f"epoch {epoch + 1}/{self.s.epochs}",
            unit="batch",
            leave=False,
            disable=not (self.s.progress and self.d.is_main),
        )
        with bar:
            loss = train_epoch(
                self.net,
                self.train_x,
                self.train_y,
                order,
                self.opt,
                self.sched,
                self.s.batch_size,
                self.progress,
                self.s.augment,
                self.amp,
                bar,
                on_step=self.stop_point,
                outlier_weight=self.s.outlier_weight,
            )
        samples = self.progress.samples * self.d.world_size
        loss = dist.mean_across(torch.tensor(loss, device=self.device), self.d).item()
        self.end_epoch(epoch, loss, samples, time.perf_counter() - t0)

    def end_epoch(self, epoch: int, train_loss: float, samples: int, seconds: float) -> None:
        val = evaluate(self.model, self.val_x, self.val_y)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val["loss"],
            "val_accuracy": val["accuracy"],
            "seconds": seconds,
            "samples_per_second": samples / seconds,
        }
        self.history.append(row)
        self.scalars.log(row)
        if self.best is None or not val["accuracy"] <= self.best[0]:  # NaN (no validation) keeps the latest
            self.best = (val["accuracy"], copy.deepcopy(self.model.state_dict()))
        self.start_epoch, self.progress = epoch + 1, EpochProgress()
        self.checkpoint()
        _log(
            f"epoch {epoch + 1:>3}/{self.s.epochs}  train loss {train_loss:.4f}  val acc {100 * val['accuracy']:.2f}%  "
            f"{seconds:.1f}s  {row['samples_per_second']:,.0f} samples/s",
            self.d,
        )

    # --- the end -----------------------------------------------------------------------------------------------
    def finish(self, train_seconds: float) -> dict[str, Any]:
        """Pick the best-validation weights, report on the test set, and write everything beside the weights."""
        if self.best is not None:
            self.model.load_state_dict(self.best[1])
        test = evaluate(self.model, self.test_x, self.test_y)
        metrics = self.metrics(test, train_seconds)
        _log(
            f"test accuracy {100 * test['accuracy']:.2f}%  (trained in {train_seconds:.1f}s on {self.device}"
            f"{', bf16 mixed precision' if self.amp else ''})",
            self.d,
        )
        if self.d.is_main and not self.s.dry_run:
            self.save(metrics)
        return metrics

    def metrics(self, test: dict[str, float], train_seconds: float) -> dict[str, Any]:
        epoch_seconds = sum(h["seconds"] for h in self.history) or float("nan")
        samples = sum(h["samples_per_second"] * h["seconds"] for h in self.history)
        best_epoch = max(
            self.history, key=lambda h: h["val_accuracy"], default={"epoch": 0, "val_accuracy": float("nan")}
        )
        return {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "val_accuracy": best_epoch["val_accuracy"],
            "best_epoch": best_epoch["epoch"],
            "epochs": len(self.history),
            "train_seconds": round(train_seconds, 3),
            "samples_per_second": samples / epoch_seconds,
            "device": str(self.device),
            "amp": self.amp,
            "world_size": self.d.world_size,
            "seed": self.s.seed,
            "dataset_fingerprint": self.fingerprint,
            "config": self.model.config.to_dict(),
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.s).items()},
            "libraries": library_versions(),
            "history": self.history,
            "confusion_matrix": confusion_matrix(self.model, self.test_x, self.test_y),
        }

    def save(self, metrics: dict[str, Any]) -> None:
        provenance = {
            k: metrics[k]
            for k in (
                "test_accuracy",
                "val_accuracy",
                "epochs",
                "seed",
                "dataset_fingerprint",
                "train_seconds",
                "device",
            )
        }
        out = self.s.out
        try:
            save_weights(out, self.model, provenance)
            write_metrics(self.s.beside_weights(METRICS), metrics)
            plot_history(self.s.beside_weights(CURVES), self.history)
            save_feature_stats(
                self.s.beside_weights(FEATURE_STATS), self.model, self.train_x, self.train_y, self.val_x, out
            )
            save_top_images(self.s.beside_weights(TOP_IMAGES), self.model.cpu(), self.test_images)
        except OSError as exc:
            raise UsageError(
                f"cannot write {exc.filename or out}: {exc.strerror}; previous files were left as they were"
            ) from None
        _log(
            f"saved {out} (+ metrics.json, training_curves.png, top_images.safetensors, {FEATURE_STATS} beside it)",
            self.d,
        )


def run(s: TrainSettings) -> dict[str, Any]:
    """Train per the settings and return the metrics."""
    r = Run(s)
    try:
        r.load_data()
        r.build()
        return r.finish(r.fit())
    finally:
        r.scalars.close()
        dist.shutdown()
