class JobError(RuntimeError):
    """An expected failure of a command: printed as one line, exit code non-zero."""
