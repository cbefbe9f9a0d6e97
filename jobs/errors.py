"""The errors of jobs, on the two bases every caller handles (``contract.errors``)."""
from __future__ import annotations

from contract.errors import Failure, Refusal


class JobError(Refusal):
    """A command or run refused: nothing changed, and the one-line message says what to do."""


class RunInProgress(JobError):
    """Another training run holds the lease; the message names it and when it started."""


class PriceUpdateFailed(Failure):
    """The price sources could not be reached; nothing was trained."""


class Cancelled(Failure):
    """Work stopped because someone asked it to (a signal, an admin, a lost lease).

    Inside a run it becomes the run's ``cancelled`` status; it reaches a caller only from
    work that records no run (a backtest)."""
