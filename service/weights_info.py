"""What /api/model says about the served network: architecture, training record, file checksum, library versions."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from model import MLP
from model.files import METRICS, beside

SERVING_LIBRARIES = ("torch", "numpy", "flask", "werkzeug", "granian", "pillow", "prometheus-client", "safetensors")


def serving_libraries() -> dict[str, str]:
    """Versions of what serves the model now (the training ones are in the provenance)."""
    versions = {"python": platform.python_version()}
    for name in SERVING_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def read_metrics(path: Path) -> dict[str, Any] | None:
    """metrics.json written beside the weights by training, if it is there and readable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def describe(model: MLP, info: dict[str, Any], path: Path, model_name: str) -> dict[str, Any]:
    """The /api/model document, computed once at start-up."""
    cfg = model.config
    sizes = cfg.layer_sizes
    layers = [
        {"name": name, "size": size, "activation": cfg.activation if name != "output" else "softmax"}
        for name, size in zip(model.layer_names, sizes[1:])
    ]
    return {
        "name": model_name,
        "architecture": {
            "layer_sizes": sizes,
            "layers": layers,
            "activation": cfg.activation,
            "init": cfg.init,
            "parameters": model.parameter_count(),
            "config": info["config"],
        },
        "training": info["provenance"],
        "metrics": read_metrics(beside(path, METRICS)),
        "weights": {"file": path.name, "bytes": path.stat().st_size, "sha256": info["sha256"]},
        "libraries": {"serving": serving_libraries(), "training": info["provenance"].get("libraries", {})},
    }
