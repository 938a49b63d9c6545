"""Registry: every served network by name, picked up from disk and swapped without a restart.

Two sources: the default weights (DIGITS_WEIGHTS, served as DIGITS_MODEL_NAME) and every NAME/model.safetensors
under the models folder (DIGITS_MODELS), served as NAME. What it guarantees:

- the default model must load at start-up (create_app raises StartupError otherwise); the others may fail, and
  are then listed as ``failed`` with the one-line reason;
- every process rescans at most every RELOAD_SECONDS, on the next request (each server worker on its own), and
  reloads a file only when its size or modification time changed;
- a file that does not load (broken, half-written, stale) never replaces a working model: the old one keeps
  serving and the entry says ``failed`` with why; a removed folder stops being served;
- the table of models is replaced whole, never edited in place, so a request holds the handler it started with
  until it finishes, whatever a rescan does meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from model import WeightsError
from model.files import WEIGHTS
from service.errors import ApiError, StartupError
from service.handler import ModelHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One name's state: the handler serving it (if any loaded) and how its file last went."""

    name: str
    path: Path
    signature: tuple[int, int] | None  # (size, mtime_ns) of the file last tried
    handler: ModelHandler | None  # what answers requests for this name, or None when nothing ever loaded
    state: str  # "ready" or "failed"
    reason: str | None = None  # why it failed (one line)
    default: bool = False

    @property
    def version(self) -> str | None:
        """A stable short hash of the weights being served (the file's sha256, first 12 hex digits)."""
        return self.handler.version if self.handler else None


def signature(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file, or None when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class Registry:
    """The served models by name; ``get`` answers requests, ``refresh`` follows the files."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.default_name = config["MODEL_NAME"]
        self.default_path = Path(config["WEIGHTS_PATH"])
        self.folder = Path(config["MODELS_DIR"]) if config.get("MODELS_DIR") else None
        self.interval = float(config["RELOAD_SECONDS"])
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._scanned = 0.0
        self.refresh()
        default = self._entries[self.default_name]
        if default.handler is None:
            raise StartupError(default.reason)

    @property
    def entries(self) -> list[Entry]:
        """Every entry, the default first, then by name."""
        self.maybe_refresh()
        return sorted(self._entries.values(), key=lambda e: (not e.default, e.name))

    def get(self, name: str | None = None) -> ModelHandler:
        """The handler serving NAME (default: the default model), or 404 naming the models there are."""
        self.maybe_refresh()
        entry = self._entries.get(name or self.default_name)
        if entry is None or entry.handler is None:
            names = ", ".join(e.name for e in self.entries if e.handler is not None)
            why = f" ({entry.reason})" if entry is not None else ""
            raise ApiError(404, "unknown_model", f"no model {name!r}{why}; models: {names}")
        return entry.handler

    def maybe_refresh(self) -> None:
        """Rescan when the last scan is older than the reload interval (0 or less: never after start-up)."""
        if self.interval > 0 and time.monotonic() - self._scanned >= self.interval:
            self.refresh()

    def refresh(self) -> None:
        """Look at every file once; load what is new or changed; publish the new table in one assignment."""
        if not self._lock.acquire(blocking=False):
            return  # another thread is scanning: serve from the current table meanwhile
        try:
            self._scanned = time.monotonic()
            found = {self.default_name: (self.default_path, True), **self._folder_models()}
            entries = {name: self._updated(name, path, default) for name, (path, default) in found.items()}
            self._entries = {name: entry for name, entry in entries.items() if entry is not None}
        finally:
            self._lock.release()

    def _folder_models(self) -> dict[str, tuple[Path, bool]]:
        if self.folder is None or not self.folder.is_dir():
            return {}
        paths = sorted(self.folder.glob(f"*/{WEIGHTS}"))
        return {p.parent.name: (p, False) for p in paths if p.parent.name != self.default_name}

    def _updated(self, name: str, path: Path, default: bool) -> Entry | None:
        """The entry for a file as it is now: unchanged, reloaded, failed (keeping what served), or gone."""
        old, sig = self._entries.get(name), signature(path)
        if old is not None and old.signature == sig and old.path == path:
            return old
        if sig is None and not default:
            if old is not None:
                log.info("model %s: %s removed, no longer served", name, path)
            return None
        try:
            handler = ModelHandler.from_weights(path, name, self.config)
        except (WeightsError, OSError) as exc:  # OSError: the file went away while it was read
            if old is not None or not default:  # a default that never loaded stops start-up with this one line
                log.warning("model %s: %s", name, exc)
            if old is None:
                return Entry(name, path, sig, None, "failed", str(exc), default)
            return replace(old, signature=sig, state="failed", reason=f"{exc} (still serving the previous weights)")
        if old is not None:
            log.info("model %s: reloaded %s", name, path)
        return Entry(name, path, sig, handler, "ready", None, default)
