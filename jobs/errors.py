class JobError(RuntimeError):
    """An expected failure of a command: printed as one line, exit code non-zero."""


class Cancelled(JobError):
    """A run stopped because someone asked it to."""


class RunInProgress(JobError):
    """Another training run holds the lease; the message names it and when it started."""
