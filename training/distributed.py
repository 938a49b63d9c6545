"""torch.distributed set-up for `torchrun`: one process per rank, gloo on CPU, nccl on CUDA."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank among world_size processes (1 when not under torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> Dist:
    """Read the variables torchrun sets; a plain `python -m training` is a world of one."""
    return Dist(
        int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
    )


def init(d: Dist, device: torch.device) -> None:
    """Join the process group, with the backend that suits the device."""
    if d.enabled and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def mean_across(value: torch.Tensor, d: Dist) -> torch.Tensor:
    """Average a scalar tensor over all ranks (a no-op for one process)."""
    if d.enabled:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= d.world_size
    return value


def any_across(flag: bool, d: Dist, device: torch.device) -> bool:
    """True on every rank if flag is true on any rank (the flag itself for one process)."""
    if not d.enabled:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()
