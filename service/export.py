"""`digits export`: the network as an ONNX file, or as a Triton model repository, for serving beyond one machine.

The graph is the network followed by its softmax. Input ``input``: FP32 [N, 784] in [0, 1] (0 = background,
1 = ink), the pixels the service feeds the network after preprocessing; output ``probabilities``: FP32 [N, 10].
N is dynamic. Uploads are not decoded or centred in the graph: that stays in service.preprocess.

torch.onnx's exporter needs onnx and onnxscript (the optional ``export`` extra); they are imported here, inside
the export, so the service starts and serves without them. Every failure is an ExportError or a WeightsError
with a one-line message naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from model import INPUT_SIZE, MLP, NUM_CLASSES, load_weights
from model.files import atomic_write_bytes

INPUT_NAME, OUTPUT_NAME = "input", "probabilities"
TRITON_PLATFORM = "onnxruntime_onnx"
TRITON_MAX_BATCH = 256  # the largest batch Triton assembles or accepts; the ONNX graph itself has no limit


class ExportError(Exception):
    """An export that cannot be done: the exporter is not installed, or a destination cannot be written."""


class Probabilities(nn.Module):
    """The network with its softmax: what the exported graph computes."""

    def __init__(self, model: MLP) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)  # (N, 784) → (N, 10)


def onnx_bytes(model: MLP) -> bytes:
    """The model as a serialised ONNX graph with a dynamic batch dimension (raises ExportError without onnx)."""
    try:
        import onnx  # noqa: F401  (torch.onnx imports both lazily; fail here with the fix instead)
        import onnxscript  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs onnx and onnxscript: pip install 'digits-mlp[export]'") from None
    example = torch.zeros(2, INPUT_SIZE)  # (N, 784); N = 2, as a batch of 1 would be taken for a constant
    program = torch.onnx.export(
        Probabilities(model).eval(),
        (example,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        verbose=False,
    )
    return program.model_proto.SerializeToString()


def triton_config(name: str) -> str:
    """Triton's config.pbtxt for the exported graph; with max_batch_size > 0, dims leave out the batch dimension."""
    return f"""\
name: "{name}"
platform: "{TRITON_PLATFORM}"
max_batch_size: {TRITON_MAX_BATCH}
input [
  {{
    name: "{INPUT_NAME}"
    data_type: TYPE_FP32
    dims: [ {INPUT_SIZE} ]
  }}
]
output [
  {{
    name: "{OUTPUT_NAME}"
    data_type: TYPE_FP32
    dims: [ {NUM_CLASSES} ]
  }}
]
dynamic_batching {{ }}
"""


def triton_paths(repository: Path, name: str) -> tuple[Path, Path]:
    """Where a Triton model repository keeps this model: (NAME/config.pbtxt, NAME/1/model.onnx)."""
    if name in ("", ".", "..") or Path(name).name != name:
        raise ExportError(f"model name {name!r} must be one folder name (Triton's NAME/1/model.onnx)")
    return repository / name / "config.pbtxt", repository / name / "1" / "model.onnx"


def export(weights: Path, out: Path | None, triton: Path | None, name: str) -> list[Path]:
    """Export the weights as ONNX to out and/or as a Triton model repository under triton; return the files."""
    model, _ = load_weights(weights)
    graphs, configs = [out] if out else [], {}
    if triton:
        config, graph = triton_paths(triton, name)
        graphs, configs = [*graphs, graph], {config: triton_config(name)}
    for path in [*graphs, *configs]:
        _make_parent(path)  # a bad destination fails now, not after the export
    data = onnx_bytes(model)
    for path in graphs:
        _write(path, data)
    for path, text in configs.items():
        _write(path, text.encode())
    return [*graphs, *configs]


def _make_parent(path: Path) -> None:
    if any(p.exists() and not p.is_dir() for p in path.parents):
        raise ExportError(f"{path}: cannot write there, a part of the path is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{path}: cannot create its folder ({exc.strerror})") from None


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write ({exc.strerror})") from None
