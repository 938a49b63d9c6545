"""Every service setting, with its default and the environment variable that overrides it, in one table."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from service.decode import MAX_PIXELS


@dataclass(frozen=True)
class Setting:
    """One Flask config key, its default, the env variable that overrides it and how to parse that."""

    key: str
    default: Any
    env: str
    parse: Callable[[str], Any]
    help: str


def on_off(raw: str) -> bool:
    """Parse on/off (or 1/0, true/false)."""
    value = raw.strip().lower()
    if value not in ("on", "off", "1", "0", "true", "false"):
        raise ValueError(raw)
    return value in ("on", "1", "true")


def percentile(raw: str) -> float:
    """Parse a percentile above 0 and at most 100."""
    value = float(raw)
    if not 0 < value <= 100:
        raise ValueError(raw)
    return value


SETTINGS = (
    Setting("WEIGHTS_PATH", "artifacts/model.safetensors", "DIGITS_WEIGHTS", str, "weights file to serve"),
    Setting(  # 20 MiB: a phone's full-resolution photo as it comes off the phone (docs/serving.md)
        "MAX_CONTENT_LENGTH", 20 * 1024 * 1024, "MAX_CONTENT_LENGTH", int, "largest request body in bytes (413 above)"
    ),
    Setting(
        "MAX_PIXELS",
        MAX_PIXELS,
        "DIGITS_MAX_PIXELS",
        int,
        "largest image in pixels, width × height as its file declares, checked before decoding (413 above)",
    ),
    Setting("BATCH_LIMIT", 256, "DIGITS_BATCH_LIMIT", int, "most images in one request (413 above)"),
    Setting(
        "UNCERTAIN_BELOW",
        0.55,
        "DIGITS_UNCERTAIN_BELOW",
        float,
        "flag an answer uncertain when its top probability is below this",
    ),
    Setting(
        "UNCERTAIN_ENTROPY_ABOVE",
        0.37,
        "DIGITS_UNCERTAIN_ENTROPY_ABOVE",
        float,
        "… or when the entropy of its probabilities, divided by ln 10, is above this",
    ),
    Setting(
        "OOD",
        True,
        "DIGITS_OOD",
        on_off,
        "… or when its input is unlike the training digits (feature_stats.safetensors beside the weights): on/off",
    ),
    Setting(
        "OOD_PERCENTILE",
        None,
        "DIGITS_OOD_PERCENTILE",
        percentile,
        "percentile of the validation images' scores above which an input is unlike them (default: as trained)",
    ),
    Setting("TOP_LIMIT", 64, "DIGITS_TOP_LIMIT", int, "largest k accepted by ?top=k"),
    Setting(
        "MODEL_NAME", "mnist-mlp", "DIGITS_MODEL_NAME", str, "name of the default model (?model=, /v2/models/NAME)"
    ),
    Setting(
        "MODELS_DIR", "artifacts/models", "DIGITS_MODELS", str, "folder of NAME/model.safetensors, each served as NAME"
    ),
    Setting(
        "RELOAD_SECONDS",
        2.0,
        "DIGITS_RELOAD_SECONDS",
        float,
        "how often each worker looks for new, changed or removed weights files (0: never after start-up)",
    ),
)

DEFAULTS = {s.key: s.default for s in SETTINGS}  # for code that runs without an app (benchmarks, Predictor)

# Read by service/serve.py (the server), not by the Flask app.
SERVER_SETTINGS = (
    Setting("HOST", "0.0.0.0", "HOST", str, "address to listen on"),
    Setting("PORT", 8000, "PORT", int, "port to listen on"),
    Setting("WORKERS", 2, "WORKERS", int, "worker processes, one model copy and one inference thread each"),
    Setting(
        "THREADS",
        1,
        "THREADS",
        int,
        "requests each worker runs at once (idle keep-alive connections wait in the server, not in a thread)",
    ),
    Setting("ACCESS_LOG", False, "ACCESS_LOG", on_off, "log every request to stderr: on/off"),
    Setting(
        "SCHED_BATCH",
        True,
        "SCHED_BATCH",
        on_off,
        "run the server under Linux's SCHED_BATCH policy (a woken thread waits for the running one's time slice "
        "instead of taking its core): on/off",
    ),
)


def from_env(settings: tuple[Setting, ...] = SETTINGS, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults overridden by any environment variable that is set; a value that does not parse stops start-up."""
    environ = os.environ if environ is None else environ
    return {s.key: _parse(s, environ[s.env]) if environ.get(s.env, "") != "" else s.default for s in settings}


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError:
        raise ValueError(f"{setting.env}={raw!r} is not a valid {setting.parse.__name__} ({setting.help})") from None
