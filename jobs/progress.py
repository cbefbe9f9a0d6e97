"""How long work reports progress and hears a cancel request, whoever started it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# progress(fraction 0..1, one-line message)
ProgressFn = Callable[[float, str], None]
# returns True when the run should stop at the next safe point
CancelFn = Callable[[], bool]


def no_progress(_fraction: float, _message: str) -> None:
    return None


def never_cancel() -> bool:
    return False


@dataclass(frozen=True)
class Follow:
    """How a caller follows work and stops it: its progress lines and its stop request."""

    progress: ProgressFn = no_progress
    should_cancel: CancelFn = never_cancel
