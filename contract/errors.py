"""The two kinds of expected error. Every expected error of the product derives from one.

- ``Refusal``: the request, a setting or an input is wrong or not allowed now (a bad
  ticker, a malformed CSV, another run in progress). Nothing was changed; the message
  says what to fix. Retrying the same request gives the same answer.
- ``Failure``: something the request needs is not there right now (the database, Yahoo,
  a child process). The message says what; a later retry may succeed.

Callers catch these two and show the message as one line; anything else is a bug and
keeps its traceback (and is shown as one line by :func:`one_line`).
"""
from __future__ import annotations


class Refusal(ValueError):
    """A request refused before it changed anything; the message says what to fix."""


class Failure(RuntimeError):
    """Something the work needs was unavailable; the message says what, and a retry may help."""


EXPECTED = (Refusal, Failure)


def one_line(exc_or_text: BaseException | str, limit: int = 300) -> str:
    """An error (or a text) as one readable line for a log, a history table or a page:
    ``Type: first line of the message``, at most ``limit`` characters."""
    if isinstance(exc_or_text, BaseException):
        msg = str(exc_or_text).strip().splitlines()
        text = f"{type(exc_or_text).__name__}: {msg[0]}" if msg else type(exc_or_text).__name__
    else:
        text = " ".join(str(exc_or_text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
