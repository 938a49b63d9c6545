"""One training run from settings to saved weights: run() and Run.fit() below show all of it on one screen (build the
data, build the model, for each epoch train / evaluate / checkpoint, write the outputs); the steps live in
loop.py (the optimiser step), checkpoint.py (resume), distributed.py (torchrun), timeline.py and artifacts.py."""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from model.files import CURVES, FEATURE_STATS, HISTORY, METRICS, TOP_IMAGES
from model.history import snapshot_steps
from model.mlp import MLP
from model.weights import library_versions
from training import distributed as dist
from training import typeset
from training.artifacts import Scalars, summarise, write_outputs
from training.checkpoint import RunState, checkpoint_of, resume, save_checkpoint
from training.data import load_splits
from training.device import pick_rank_device, use_amp
from training.interrupts import StepBoundaryInterrupt
from training.loop import EpochProgress, Learner, confusion_matrix, epoch_order, evaluate, steps_per_epoch, train_epoch
from training.optim import make_optimizer, make_scheduler
from training.settings import TrainSettings, check_settings
from training.timeline import Timeline

BAR_POSTFIX_EVERY = 25  # steps between loss read-outs on the progress bar (each one waits for the device)


def run(settings: TrainSettings) -> dict[str, Any]:
    """Train per the settings and return the metrics."""
    training = Run(settings)  # device, precision, seed, process group
    try:
        training.load_data()
        training.build_model()  # fresh, or as the checkpoint to resume left it
        seconds = training.fit()
        return training.finish(seconds)  # best weights, test accuracy, the files beside the weights
    finally:
        training.scalars.close()
        dist.shutdown()


class Run:
    """One training run: where it runs, its data and network, and where it stands."""

    def __init__(self, settings: TrainSettings) -> None:
        check_settings(settings)
        self.settings, self.job = settings, dist.from_env()
        self.device = pick_rank_device(settings.device, self.job.local_rank if self.job.distributed else None)
        self.amp = use_amp(settings.amp, self.device)
        if settings.threads:
            torch.set_num_threads(settings.threads)
        torch.manual_seed(settings.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        dist.init(self.job, self.device)
        self.interrupt = StepBoundaryInterrupt(repeat_stops_at_once=not self.job.distributed)
        self.scalars = Scalars(settings.tensorboard if self.job.is_main else None)
        self.show_bars = settings.progress and self.job.is_main and sys.stderr.isatty()  # a log gets epoch lines

    def fit(self) -> float:
        """Train the remaining epochs; return the seconds spent. Ctrl-C takes effect between two steps and saves a
        checkpoint first, so --resume continues exactly."""
        t0 = time.perf_counter()
        try:
            with self.interrupt:
                for epoch in range(self.state.epoch, self.settings.epochs):
                    train_loss, samples, seconds = self.train_one_epoch(epoch)
                    val = evaluate(self.learner.model, self.data.val_x, self.data.val_y)
                    row = self.end_epoch(epoch, train_loss, val, samples, seconds)
                    self.checkpoint()
                    _log(epoch_line(row, self.settings.epochs), self.job)
                    self.stop_point(self.state.progress, at_epoch_end=True)
                    if self.settings.dry_run:
                        break
        except KeyboardInterrupt:
            self.checkpoint()
            if not self.job.is_main:
                raise KeyboardInterrupt(f"(rank {self.job.rank}; rank 0 saved the checkpoint)") from None
            path = self.settings.checkpoint_path
            raise KeyboardInterrupt(f"Checkpoint saved to {path}; continue with --resume {path}") from None
        return time.perf_counter() - t0

    def load_data(self) -> None:
        t0, s = time.perf_counter(), self.settings
        self.data = load_splits(s.data_dir, s.download, s.subset, s.val_size, self.device)
        if s.typeset:
            self.data = typeset.with_digits(self.data)
        _log(
            f"data: {self.data.summary()} (fingerprint {self.data.fingerprint}, {time.perf_counter() - t0:.1f}s)",
            self.job,
        )

    def build_model(self) -> None:
        """The network, its optimiser and schedule, and where the run stands: fresh, or resumed from a checkpoint."""
        s = self.settings
        model = MLP(s.model).to(self.device)
        net = DDP(model) if self.job.distributed else model
        self.steps_per_epoch = steps_per_epoch(len(self.data.train_x), s.batch_size, self.job.world_size)
        opt = make_optimizer(s.optimizer, model, s.lr, s.weight_decay)
        sched = make_scheduler(s.scheduler, opt, s.lr, s.epochs * self.steps_per_epoch)
        letters = typeset.letters().to(self.device) if s.typeset and s.outlier_weight else None
        self.learner = Learner(net, opt, sched, s.augment, self.amp, s.outlier_weight, letters)
        self.state = RunState(plan_timeline(s, self.steps_per_epoch, self.job))
        if s.resume:
            resume(self.learner, self.state, s, self.job.world_size)
            _log(f"resumed from {s.resume}: epoch {self.state.epoch + 1}, step {self.state.progress.step}", self.job)
        else:
            self.snapshot(0)  # the initialisation

    def train_one_epoch(self, epoch: int) -> tuple[float, int, float]:
        """Train one epoch, or what an interrupted one left; (mean loss over all ranks, samples, seconds)."""
        t0, s = time.perf_counter(), self.settings
        order = epoch_order(len(self.data.train_x), s.seed, epoch, self.job.rank, self.job.world_size)
        batches = order.split(s.batch_size)[: 1 if s.dry_run else None]
        self.bar = tqdm(
            total=len(batches),
            initial=self.state.progress.step,
            desc=f"epoch {epoch + 1}/{s.epochs}",
            unit="batch",
            leave=False,
            disable=not self.show_bars,
        )
        with self.bar:
            loss = train_epoch(
                self.learner, self.data.train_x, self.data.train_y, batches, self.state.progress, self.after_step
            )
        samples = self.state.progress.samples * self.job.world_size
        loss = dist.mean_across(torch.tensor(loss, device=self.device), self.job).item()
        return loss, samples, time.perf_counter() - t0

    def after_step(self, progress: EpochProgress, loss: torch.Tensor, n: int) -> None:
        """Between two steps: the progress bar, the timeline, and the one place where Ctrl-C takes effect."""
        self.bar.update(1)
        if self.show_bars and progress.step % BAR_POSTFIX_EVERY == 0:
            self.bar.set_postfix(loss=f"{progress.mean_loss:.4f}", refresh=False)
        self.state.timeline.add(loss, n)
        if progress.step < self.steps_per_epoch:  # an epoch's last step is snapshotted after its evaluation
            self.snapshot(self.state.epoch * self.steps_per_epoch + progress.step)
        self.stop_point(progress)

    def stop_point(self, progress: EpochProgress, at_epoch_end: bool = False) -> None:
        """Stop here if Ctrl-C was pressed (under torchrun: if the ranks agree that it was on any of them)."""
        if dist.agree_to_stop(self.interrupt.requested, progress.step, at_epoch_end, self.job, self.device):
            raise KeyboardInterrupt

    def snapshot(self, step: int, val_accuracy: float | None = None) -> None:
        """Add the weights after `step` steps to the timeline if it wants them, evaluated unless already known."""
        if not self.state.timeline.wants(step):
            return
        if val_accuracy is None:
            val_accuracy = evaluate(self.learner.model, self.data.val_x, self.data.val_y)["accuracy"]
            self.learner.net.train()  # evaluate() switched to eval mode; training goes on
        self.state.timeline.take(self.learner.model, step, val_accuracy)

    def end_epoch(self, epoch: int, train_loss: float, val: dict[str, float], samples: int, seconds: float) -> dict:
        """Record a finished epoch: its row of the history, the best weights so far, its snapshot; return the row."""
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val["loss"],
            "val_accuracy": val["accuracy"],
            "seconds": seconds,
            "samples_per_second": samples / seconds,
        }
        self.state.history.append(row)
        self.scalars.log(row)
        if self.state.best is None or not val["accuracy"] <= self.state.best[0]:  # NaN (no validation) keeps the latest
            self.state.best = (val["accuracy"], copy.deepcopy(self.learner.model.state_dict()))
        self.snapshot((epoch + 1) * self.steps_per_epoch, val["accuracy"])
        self.state.epoch, self.state.progress = epoch + 1, EpochProgress()
        return row

    def checkpoint(self) -> None:
        if self.job.is_main and not self.settings.dry_run:
            save_checkpoint(
                self.settings.checkpoint_path,
                checkpoint_of(self.learner, self.state, self.settings, self.job.world_size),
            )

    def finish(self, train_seconds: float) -> dict[str, Any]:
        """Pick the best-validation weights, report on the test set, and write everything beside the weights."""
        model, data = self.learner.model, self.data
        if self.state.best is not None:
            model.load_state_dict(self.state.best[1])
        test = evaluate(model, data.test_x, data.test_y)
        metrics = {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            **summarise(self.state.history),
            "train_seconds": round(train_seconds, 3),
            "device": str(self.device),
            "amp": self.amp,
            "world_size": self.job.world_size,
            "seed": self.settings.seed,
            "dataset_fingerprint": data.fingerprint,
            "config": model.config.to_dict(),
            "settings": self.settings.to_dict(),
            "libraries": library_versions(),
            "history": self.state.history,
            "confusion_matrix": confusion_matrix(model, data.test_x, data.test_y),
        }
        how = f"{self.device}, bf16 mixed precision" if self.amp else f"{self.device}"
        _log(f"test accuracy {100 * test['accuracy']:.2f}%  (trained in {train_seconds:.1f}s on {how})", self.job)
        if self.job.is_main and not self.settings.dry_run:
            write_outputs(self.settings, model, metrics, data, self.state.timeline)
            beside = [METRICS, CURVES, TOP_IMAGES, FEATURE_STATS] + [HISTORY] * bool(self.state.timeline.snapshots)
            _log(f"saved {self.settings.out} (+ {', '.join(beside)} beside it)", self.job)
        return metrics


def plan_timeline(settings: TrainSettings, steps_per_epoch: int, job: dist.Job) -> Timeline:
    """Rank 0 keeps the timeline; other ranks, dry runs and --snapshots 0 take no snapshots."""
    count = settings.snapshots if job.is_main and not settings.dry_run else 0
    steps = snapshot_steps(settings.epochs * steps_per_epoch, steps_per_epoch, count)
    return Timeline(steps, steps_per_epoch, job.world_size)


def epoch_line(row: dict[str, float], epochs: int) -> str:
    return (
        f"epoch {row['epoch']:>3}/{epochs}  train loss {row['train_loss']:.4f}  "
        f"val acc {100 * row['val_accuracy']:.2f}%  {row['seconds']:.1f}s  {row['samples_per_second']:,.0f} samples/s"
    )


def _log(message: str, job: dist.Job) -> None:
    if job.is_main:
        tqdm.write(message, file=sys.stderr)
