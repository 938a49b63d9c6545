"""torch.distributed set-up for `torchrun`: one process per rank, gloo on CPU, nccl on CUDA."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

AGREE_EVERY = 8  # steps between the ranks' agreements on whether to stop (one tiny all-reduce each)


@dataclass(frozen=True)
class Job:
    """This process's place in the job: rank among world_size processes (1 when not under torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> Job:
    """Read the variables torchrun sets; a plain `python -m training` is a world of one."""
    return Job(
        int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
    )


def init(job: Job, device: torch.device) -> None:
    """Join the process group, with the backend that suits the device."""
    if job.distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def mean_across(value: torch.Tensor, job: Job) -> torch.Tensor:
    """Average a scalar tensor over all ranks (a no-op for one process)."""
    if job.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= job.world_size
    return value


def any_across(flag: bool, job: Job, device: torch.device) -> bool:
    """True on every rank if flag is true on any rank (the flag itself for one process)."""
    if not job.distributed:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def agree_to_stop(requested: bool, step: int, at_epoch_end: bool, job: Job, device: torch.device) -> bool:
    """Whether to stop after this step, the same answer on every rank.

    One process stops as soon as Ctrl-C was pressed. Under torchrun the ranks agree first, every AGREE_EVERY steps and
    at the end of each epoch, so they all stop after the same step even when the signal reaches them a step apart; a
    rank that stopped alone would leave the others waiting in their next all-reduce.
    """
    if not job.distributed:
        return requested
    if step % AGREE_EVERY and not at_epoch_end:
        return False
    return any_across(requested, job, device)
