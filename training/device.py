"""Pick the training device: CUDA when present, the CPU otherwise, or what the user asked for."""

from __future__ import annotations

import torch

from training.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto") -> torch.device:
    """Resolve --device: auto → cuda if available else cpu; cuda without a GPU is a usage error."""
    if name not in DEVICE_CHOICES:
        raise UsageError(f"--device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu (or auto)")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")
