"""SIGTERM and Ctrl-C for every long command, one code path.

A dyno restart sends SIGTERM and waits 30 s before SIGKILL; a user presses Ctrl-C.
Either way the work should stop at its next epoch, record its run as ``cancelled``
and release its training lease, instead of dying mid-write and leaving a ``running``
row for the next run to clean up. ``StopRequest`` turns the first signal into a
cancel request (a ``CancelFn`` the pipeline polls each epoch); a second signal
means "now" and raises KeyboardInterrupt, which the pipeline still records as a
failed run on its way out.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Callable like a ``CancelFn``: True once a stop signal arrived. ``reason`` says which."""

    def __init__(self, on_stop: Callable[[], None] | None = None):
        self.event = threading.Event()
        self.reason = ""
        self.on_stop = on_stop

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> "StopRequest":
        """Handle SIGTERM and SIGINT in this (main) thread from now on."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt  # the second signal: stop now
        self.reason = f"{signal.Signals(signum).name} received"
        self.event.set()
        if self.on_stop is not None:
            self.on_stop()
