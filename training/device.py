"""Pick the training device (CUDA when present, the CPU otherwise, or what the user asked for) and its precision."""

from __future__ import annotations

import torch

from training.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda")
AMP_CHOICES = ("auto", "on", "off")


def pick_device(name: str = "auto") -> torch.device:
    """Resolve --device: auto → cuda if available else cpu; cuda without a GPU is a usage error."""
    if name not in DEVICE_CHOICES:
        raise UsageError(f"--device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu (or auto)")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")


def pick_rank_device(name: str, local_rank: int | None) -> torch.device:
    """pick_device; under torchrun (local_rank given) a CUDA device is this process's own GPU, made current."""
    device = pick_device(name)
    if device.type == "cuda" and local_rank is not None:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether the device multiplies bf16 matrices in hardware: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own probes (cpuinfo)
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def use_amp(choice: str, device: torch.device) -> bool:
    """Resolve --amp: on, off, or auto (bf16 mixed precision where the hardware does bf16 natively)."""
    if choice not in AMP_CHOICES:
        raise UsageError(f"--amp {choice!r}: choose one of {', '.join(AMP_CHOICES)}")
    return choice == "on" or (choice == "auto" and native_bf16(device))
