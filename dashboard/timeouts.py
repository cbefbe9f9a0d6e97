"""Every request of the web has a deadline below Heroku's 30 s router limit.

``install(server, seconds)`` wraps the WSGI app:

- The request body is read in full before Flask sees it, within ``BODY_READ_S`` (bounded
  by the deadline): a client that trickles its body is answered 408 and its connection
  closed, so it holds a worker thread for seconds, not for ever. The socket read uses a
  timeout on gunicorn's socket (``gunicorn.socket``); elsewhere (tests) the body is read
  as it comes.
- The rest runs under ``store.deadline.running(seconds)``: store work stops at the
  deadline (see ``store.deadline``) and the request is answered 503 with a message that
  says so, instead of the router's H12 while the worker keeps computing.
"""
from __future__ import annotations

import io
import logging
import socket
import time
from typing import Callable, Iterable

from flask import Flask, Response, request

from store import deadline

from . import security

log = logging.getLogger(__name__)

BODY_READ_S = 10.0  # a real callback body (a few kB) arrives in milliseconds
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


def read_body(environ: dict, budget_s: float) -> bytes:
    """The whole body (at most MAX_BODY_BYTES + 1 bytes), read within ``budget_s`` seconds."""
    wanted = _wanted(environ)
    cap = security.MAX_BODY_BYTES + 1 if wanted is None else wanted
    stream, sock = environ["wsgi.input"], environ.get("gunicorn.socket")
    end, parts, got = time.monotonic() + budget_s, [], 0
    try:
        while got < cap:
            left = end - time.monotonic()
            if left <= 0:
                raise BodyTooSlow
            if sock is not None:
                sock.settimeout(left)
            part = stream.read(min(CHUNK, cap - got))
            if not part:
                break
            parts.append(part)
            got += len(part)
    except socket.timeout:
        raise BodyTooSlow from None
    finally:
        if sock is not None:
            sock.settimeout(None)  # gunicorn's threads expect a blocking socket
    return b"".join(parts)


class Deadline:
    """WSGI middleware: the body within ``body_s``, everything within ``seconds``."""

    def __init__(self, app: WSGIApp, seconds: float, body_s: float = BODY_READ_S):
        self.app, self.seconds, self.body_s = app, seconds, min(body_s, seconds)

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
            return self.app(environ, start_response)


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
