"""Ctrl-C during training takes effect between optimiser steps, so a checkpoint never holds half a step."""

from __future__ import annotations

import signal
import threading


class StepBoundaryInterrupt:
    """While active, a first SIGINT sets a flag that check() turns into KeyboardInterrupt; a second one acts at once."""

    def __init__(self, repeat_stops_at_once: bool = True) -> None:
        # Under torchrun each worker gets Ctrl-C twice (from the terminal and forwarded by torchrun): there a repeat
        # must not cut a step in half.
        self.repeat_stops_at_once = repeat_stops_at_once
        self.requested, self._previous, self._installed = False, None, False

    def __enter__(self) -> StepBoundaryInterrupt:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread only
            self._previous, self._installed = signal.signal(signal.SIGINT, self._handle), True
        return self

    def __exit__(self, *exc_info) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
            self._installed = False

    def _handle(self, signum, frame) -> None:
        if self.requested and self.repeat_stops_at_once:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed (training.trainer.Run.stop_point calls it after each step)."""
        if self.requested:
            raise KeyboardInterrupt
