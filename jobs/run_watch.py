"""How a run reports progress and hears a stop request while it works.

``RunProgress`` maps each phase's 0..1 onto the run's bar and writes it to the run's
row (throttled: the bar moves at most ~5 times a second; the last write always lands).
``CancelCheck`` says stop when the caller, an admin (the cancel flag in the run's row)
or a lost lease says so, and remembers who.
"""
from __future__ import annotations

import time

from sqlalchemy import Engine

from store import lease as leases
from store import runs
from store.db import best_effort

from .errors import Cancelled
from .progress import CancelFn, ProgressFn

PROGRESS_WRITE_INTERVAL_S = 0.2  # at most ~5 progress writes a second; the last always lands
CANCEL_POLL_INTERVAL_S = 1.0


class RunProgress:
    """Maps a phase's 0..1 onto the run's bar, writes it (throttled) and forwards it."""

    def __init__(self, engine: Engine, run_id: int, forward: ProgressFn):
        self.engine, self.run_id, self.forward = engine, run_id, forward
        self._last_write = 0.0

    def __call__(self, fraction: float, message: str, *, force: bool = False) -> None:
        self.forward(fraction, message)
        t = time.monotonic()
        if force or fraction >= 1.0 or t - self._last_write >= PROGRESS_WRITE_INTERVAL_S:
            self._last_write = t
            # Superseded by the next write: a database blip costs one bar update, not the run.
            best_effort(lambda: runs.update_progress(self.engine, self.run_id, fraction, message),
                        what=f"writing the progress of run {self.run_id}")

    def phase(self, start: float, end: float) -> ProgressFn:
        def report(fraction: float, message: str) -> None:
            self(start + (end - start) * min(1.0, max(0.0, fraction)), message, force=fraction >= 1.0)

        return report


class CancelCheck:
    """True when the caller, an admin (cancel flag in the run row) or a lost lease says stop."""

    def __init__(self, engine: Engine, run_id: int, external: CancelFn | None, keeper: leases.LeaseKeeper):
        self.engine, self.run_id, self.external, self.keeper = engine, run_id, external, keeper
        self._last_poll = 0.0
        self._db_says = False
        self.reason = ""

    def __call__(self) -> bool:
        if self.keeper.lost:
            self.reason = "the training lease expired and was taken over by another process"
            return True
        if self.external is not None and self.external():
            # A StopRequest says which signal; other callers (a UI) are "the caller".
            self.reason = getattr(self.external, "reason", "") or "cancelled by the caller"
            return True
        t = time.monotonic()
        if not self._db_says and t - self._last_poll >= CANCEL_POLL_INTERVAL_S:
            self._last_poll = t
            self._db_says = best_effort(lambda: runs.is_cancel_requested(self.engine, self.run_id),
                                        what=f"polling the cancel flag of run {self.run_id}", default=False)
        if self._db_says:
            self.reason = "cancel requested"
        return self._db_says

    @property
    def by_admin(self) -> bool:
        """The stop came from the run's cancel flag (an admin), not a signal (the process is ending)
        or a lost lease (another process runs the ticker now): the champions may still serve."""
        return self._db_says and not self.keeper.lost and not (self.external is not None and self.external())

    def check(self) -> None:
        if self():
            raise Cancelled(self.reason)
