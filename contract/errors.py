"""The two kinds of expected error. Every expected error of the product derives from one.

- ``Refusal``: the request, a setting or an input is wrong or not allowed now (a bad
  ticker, a malformed CSV, another run in progress). Nothing was changed; the message
  says what to fix. Retrying the same request gives the same answer.
- ``Failure``: something the request needs is not there right now (the database, Yahoo,
  a child process). The message says what; a later retry may succeed.

Callers catch these two and show the message as one line; anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations


class Refusal(ValueError):
    """A request refused before it changed anything; the message says what to fix."""


class Failure(RuntimeError):
    """Something the work needs was unavailable; the message says what, and a retry may help."""


EXPECTED = (Refusal, Failure)
