"""Ctrl-C during training takes effect between optimiser steps, so a checkpoint never holds half a step."""

from __future__ import annotations

import signal
import threading


class StepBoundaryInterrupt:
    """While active, a first SIGINT sets `requested`, which the trainer acts on after the step (Run.stop_point); a
    second one raises KeyboardInterrupt at once.

    A run that starts with SIGINT ignored (nohup, a job started in the background, a CI runner) stays deaf to it: the
    handler is installed only over a handler that would have acted, and on exit whatever was there is put back.
    """

    def __init__(self, repeat_stops_at_once: bool = True) -> None:
        # Under torchrun each worker gets Ctrl-C twice (from the terminal and forwarded by torchrun): there a repeat
        # must not cut a step in half.
        self.repeat_stops_at_once = repeat_stops_at_once
        self.requested, self._previous, self._installed = False, None, False

    def __enter__(self) -> StepBoundaryInterrupt:
        if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread only
            return self
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return self
        self._previous, self._installed = signal.signal(signal.SIGINT, self._handle), True
        return self

    def __exit__(self, *exc_info) -> None:
        if self._installed:
            # None: a handler set outside Python, which cannot be put back; Python's own is the closest
            signal.signal(signal.SIGINT, signal.default_int_handler if self._previous is None else self._previous)
            self._installed = False

    def _handle(self, signum, frame) -> None:
        if self.requested and self.repeat_stops_at_once:
            raise KeyboardInterrupt
        self.requested = True
