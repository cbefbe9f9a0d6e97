"""Every request of the web has a deadline below Heroku's 30 s router limit.

``install(server, seconds)`` wraps the WSGI app:

- The request body is read in full before Flask sees it, within ``BODY_READ_S`` (bounded
  by the deadline): a client that trickles its body is answered 408 and its connection
  closed, so it holds a worker thread for seconds, not for ever. A watchdog thread shuts the
  read side of gunicorn's socket (``gunicorn.socket``) when the time is up; elsewhere (tests)
  the body is read as it comes.
- Then the request waits for one of ``ACTIVE_REQUESTS`` slots of its process (``/healthz``
  needs none), so a threaded worker does as much work at once as a few sync workers would,
  and holds about as much memory, however many slow clients it is waiting for.
- The rest runs under ``store.deadline.running(seconds)``: store work stops at the
  deadline (see ``store.deadline``) and the request is answered 503 with a message that
  says so, instead of the router's H12 while the worker keeps computing.
"""
from __future__ import annotations

import contextlib
import heapq
import io
import logging
import socket
import threading
import time
from typing import Callable, Iterable

from flask import Flask, Response, request

from store import deadline

from . import security

log = logging.getLogger(__name__)

BODY_READ_S = 10.0  # a real callback body (a few kB) arrives in milliseconds
# Requests of one worker process doing work at once. The threads beyond them only wait for slow
# clients' bytes; more work at once would not finish sooner (one GIL) but would hold more memory.
ACTIVE_REQUESTS = 2
OPEN_PATHS = ("/healthz",)  # never queued behind page work: the platform's health check
CHUNK = 64 * 1024
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class BodyTooSlow(Exception):
    """The client did not send its body within the time allowed."""


def _wanted(environ: dict) -> int | None:
    """Bytes of body to read: the Content-Length, None for a chunked body, 0 for none."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Werkzeug answers a bad length itself
    if length:
        return length
    return None if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" else 0


class Watchdog:
    """One thread per process that shuts the read side of a socket whose body time is up.

    A socket timeout bounds each ``recv``, not a whole body: gunicorn's reader waits for all the
    bytes it was asked for, and a client sending one byte every few seconds never trips it. Shutting
    the read side ends the wait at once (the read sees end-of-file); the answer can still be sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, socket.socket]] = []
        self._live: set[int] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0

    def watch(self, sock: socket.socket, at: float) -> int:
        with self._lock:
            self._count += 1
            heapq.heappush(self._due, (at, self._count, sock))
            self._live.add(self._count)
            if self._thread is None:  # started on first use: nothing runs at import or before gunicorn forks
                self._thread = threading.Thread(target=self._run, name="body-watchdog", daemon=True)
                self._thread.start()
        self._wake.set()
        return self._count

    def cancel(self, token: int) -> None:
        with self._lock:
            self._live.discard(token)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._due and (self._due[0][0] <= now or self._due[0][1] not in self._live):
                    _at, token, sock = heapq.heappop(self._due)
                    if token in self._live:
                        self._live.discard(token)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RD)
                wait = self._due[0][0] - now if self._due else None
            self._wake.wait(wait)
            self._wake.clear()


_watchdog = Watchdog()


def read_body(environ: dict, budget_s: float) -> bytes:
    """The whole body (at most MAX_BODY_BYTES + 1 bytes), read within ``budget_s`` seconds."""
    wanted = _wanted(environ)
    cap = security.MAX_BODY_BYTES + 1 if wanted is None else wanted
    stream, sock = environ["wsgi.input"], environ.get("gunicorn.socket")
    end, parts, got = time.monotonic() + budget_s, [], 0
    token = _watchdog.watch(sock, end) if isinstance(sock, socket.socket) else None
    try:
        while got < cap:
            part = stream.read(min(CHUNK, cap - got))
            if not part:
                break
            parts.append(part)
            got += len(part)
    except Exception:
        if time.monotonic() >= end:
            raise BodyTooSlow from None
        raise
    finally:
        if token is not None:
            _watchdog.cancel(token)
    if time.monotonic() >= end and got < cap and wanted is not None:
        raise BodyTooSlow  # the watchdog ended the read: the body stopped short
    return b"".join(parts)


class Deadline:
    """WSGI middleware: the body within ``body_s``, everything within ``seconds``, and at most
    ``active`` requests of this process past their body at once (``/healthz`` aside)."""

    def __init__(self, app: WSGIApp, seconds: float, body_s: float = BODY_READ_S, active: int = ACTIVE_REQUESTS):
        self.app, self.seconds, self.body_s = app, seconds, min(body_s, seconds)
        self.slots = threading.BoundedSemaphore(active)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        with deadline.running(self.seconds):
            if _wanted(environ) != 0 and (_wanted(environ) or 0) <= security.MAX_BODY_BYTES:
                # (a body over the limit is refused unread: Werkzeug answers 413)
                try:
                    body = read_body(environ, self.body_s)
                except BodyTooSlow:
                    log.warning("closed a connection from %s: its request body did not arrive within %g s",
                                environ.get("REMOTE_ADDR"), self.body_s)
                    refusal = security.plain(f"request body not received within {self.body_s:g} s", 408,
                                             {"Connection": "close"})
                    return refusal(environ, start_response)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                environ["wsgi.input_terminated"] = True
            if environ.get("PATH_INFO") in OPEN_PATHS:
                return self.app(environ, start_response)
            return self._in_slot(environ, start_response)

    def _in_slot(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Run the app once one of the process's slots is free (within the deadline)."""
        if not self.slots.acquire(timeout=max(0.0, deadline.remaining() or 0.0)):
            log.warning("no free slot for %s within its %g s deadline", environ.get("PATH_INFO"), self.seconds)
            busy = security.plain(f"The server is busy: this request did not start within {self.seconds:g} s; "
                                  "try again in a moment.", 503, {"Retry-After": "5"})
            return busy(environ, start_response)
        try:
            # Flask builds the whole answer (Dash's JSON, compressed) inside this call, so the slot
            # covers the work; a file is sent afterwards, from the returned iterable, outside it.
            return self.app(environ, start_response)
        finally:
            self.slots.release()


def overrun(exc: deadline.DeadlineExceeded) -> Response:
    """The answer to a request whose store work was stopped at its deadline."""
    log.warning("stopped %s %s at its %g s deadline", request.method, security.shorten(request.path), exc.seconds)
    return security.plain(f"This took longer than {exc.seconds:g} s and was stopped; try again in a moment.", 503,
                          {"Retry-After": "5"})


def install(server: Flask, seconds: float) -> None:
    """Deadline and bounded body reading on every request of ``server``."""
    # Flask documents wrapping wsgi_app by assignment; its stubs type it as a method.
    server.wsgi_app = Deadline(server.wsgi_app, seconds)  # type: ignore[method-assign]
    server.register_error_handler(deadline.DeadlineExceeded, overrun)
