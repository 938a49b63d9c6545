"""For every hidden neuron, the test images that excite it most: computed once after training, kept with the weights."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save as st_save

from model.files import atomic_write_bytes
from model.mlp import MLP

TOP_K = 6


@torch.inference_mode()
def top_images(model: MLP, images: torch.Tensor, k: int = TOP_K) -> dict[str, torch.Tensor]:
    """Per hidden layer: indices (n, k) into images of each neuron's k strongest activations, and those values."""
    model.eval()
    x = images.reshape(len(images), -1).float().div(255.0).to(next(model.parameters()).device)
    out: dict[str, torch.Tensor] = {}
    for trace in model.trace(x)[:-1]:
        values, idx = trace.a.topk(k, dim=0)  # (k, n)
        out[f"{trace.name}.indices"] = idx.T.contiguous().cpu()  # (n, k)
        out[f"{trace.name}.values"] = values.T.contiguous().float().cpu()
    return out


def save_top_images(path: Path, model: MLP, images: torch.Tensor, k: int = TOP_K) -> None:
    """Write the top-k table and just the images it points at, as safetensors."""
    table = top_images(model, images, k)
    used = torch.unique(torch.cat([v.flatten() for key, v in table.items() if key.endswith(".indices")]))
    remap = torch.full((len(images),), -1, dtype=torch.long)
    remap[used] = torch.arange(len(used))
    for key in [key for key in table if key.endswith(".indices")]:
        table[f"{key[: -len('.indices')]}.test_index"] = table[key]  # positions in the MNIST test set
        table[key] = remap[table[key]]  # positions in "images" below
    table["images"] = images[used].contiguous().to(torch.uint8)  # (M, 28, 28)
    atomic_write_bytes(path, st_save(table, metadata={"k": str(k), "source": "MNIST test set"}))
