"""A model's training timeline as the service shows it: the snapshots' figures, and a network for each snapshot.

Training leaves history.safetensors beside the weights (model/history.py). It is read on first use, per process,
and only if it was made for this architecture; a snapshot's network is built when first asked for and kept (the
last few), so scrubbing back and forth through the timeline costs one load each.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from model import MLP, WeightsError
from model.history import read_history
from service.errors import ApiError

log = logging.getLogger(__name__)

KEEP = 8  # snapshot networks kept per model and process (the default 784-512-256-10 one is 2.1 MB)


class Timeline:
    """The snapshots of one model's training, loaded lazily; `network(k)` is snapshot k's MLP in eval mode."""

    def __init__(self, path: Path, model: MLP) -> None:
        self.path, self.model = path, model
        self._loaded: tuple[list[dict[str, Any]], Any] | None = None
        self._networks: OrderedDict[int, MLP] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def snapshots(self) -> list[dict[str, Any]]:
        """Every snapshot's step, epoch, seen_images, loss and val_accuracy, step 0 first (404 if there is none)."""
        return self._load()[0]

    def network(self, k: int) -> MLP:
        """Snapshot k's network (404 naming the valid range for a k that does not exist)."""
        snapshots, states = self._load()
        if not 0 <= k < len(snapshots):
            raise ApiError(404, "unknown_snapshot", f"snapshot must be from 0 to {len(snapshots) - 1}, not {k}")
        with self._lock:
            if k not in self._networks:
                net = MLP(self.model.config)
                net.load_state_dict(states[k])
                self._networks[k] = net.eval()
                while len(self._networks) > KEEP:
                    self._networks.popitem(last=False)
            self._networks.move_to_end(k)
            return self._networks[k]

    def _load(self) -> tuple[list[dict[str, Any]], Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read()
        if not self._loaded[0]:
            raise ApiError(404, "no_history", f"{self.path.name} is missing or unusable: train with --snapshots N")
        return self._loaded

    def _read(self) -> tuple[list[dict[str, Any]], Any]:
        """The file's snapshots, or none (logged) when it is absent, unreadable or made for another architecture."""
        if not self.path.is_file():
            return [], None
        try:
            snapshots, states = read_history(self.path)
        except WeightsError as exc:
            log.warning("ignoring %s", exc)
            return [], None
        if states.config != self.model.config:
            log.warning("ignoring %s: made for another architecture", self.path)
            return [], None
        return snapshots, states
