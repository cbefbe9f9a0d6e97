"""Request-level defences of the web process, in front of Dash.

- Cross-site request forgery: a request that changes anything is a POST to Dash's
  callback endpoint. It must be ``Content-Type: application/json``, which an HTML form
  on another site cannot send (forms send text/plain, urlencoded or multipart), and when
  the browser names where it comes from (``Origin``, else ``Referer``) that must be this
  app's own host. A client that sends neither is not a browser and so carries no
  victim's cached credentials.
- Size: bodies over ``MAX_BODY_BYTES`` get 413 before they are read; JSON nested deeper
  than ``MAX_JSON_DEPTH`` is refused as a bad request (400) instead of a RecursionError
  (500) inside the parser.
- Security headers on every response: no framing, no MIME sniffing, no full referrer.

Why not ``get_json(force=True)`` anywhere: Werkzeug caches the parse, so a forced parse
in a guard would let Dash's own (non-forced) ``get_json()`` accept a text/plain body.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # 1 MiB: the largest real callback body here is a few kB
MAX_JSON_DEPTH = 32  # a Dash callback body nests about 6 deep
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), counting no further than ``limit + 1``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with a nesting limit on what it parses.

    Werkzeug's ``get_json`` turns a ValueError from ``loads`` into a 400; the standard
    parser's RecursionError on deep nesting would otherwise be a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def _origin_of(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a URL, lower-cased; empty strings for one that does not parse."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.scheme.lower(), parts.netloc.lower()


def host_name(host: str) -> str | None:
    """The name in a Host header (no port, no IPv6 brackets), lower-cased; None if it does not parse."""
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        return None
    return name.lower() if name else None


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """True when the Host header names one of ``allowed`` (".example.com": it and its subdomains)."""
    name = host_name(host)
    if name is None:
        return False
    return any(name == a or (a.startswith(".") and (name == a[1:] or name.endswith(a))) for a in allowed)


def same_origin(request: Request) -> bool:
    """True when the browser says the request comes from a page of this app's own host and
    scheme (or says nothing: a non-browser client). ``Origin: null`` (sandboxed frames, data:
    URLs) is not this host; ``https://`` is not an ``http`` app (behind trusted proxies the
    request's scheme is X-Forwarded-Proto)."""
    source = request.headers.get("Origin")
    if source is None:
        source = request.headers.get("Referer")
        if source is None:
            return True
    return _origin_of(source) == (request.scheme.lower(), request.host.lower())


def plain(message: str, status: int, headers: dict | None = None) -> Response:
    return Response(message + "\n", status, headers or {}, mimetype="text/plain")


def refuse_unsafe(request: Request) -> Response | None:
    """The refusal for a state-changing request that could be forged or is too big, else None."""
    if request.method in SAFE_METHODS:
        return None
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return plain(f"request body over {MAX_BODY_BYTES} bytes", 413)
    if request.mimetype != "application/json":
        return plain("only application/json requests are accepted here", 415)
    if not same_origin(request):
        log.warning("refused a cross-origin %s %s from %s (Origin %s, Referer %s)", request.method, request.path,
                    request.remote_addr, shorten(request.headers.get("Origin")), shorten(request.headers.get("Referer")))
        return plain("cross-origin request refused", 403)
    return None


def callback_body_problem(body: Any, spec_of: Callable[[str], dict | None]) -> str | None:
    """Why a parsed ``/_dash-update-component`` body is not one Dash can run (400), or None.

    ``spec_of(output)`` is Dash's registration of that callback (``app.callback_map``); a body
    naming no callback, or with a different number of inputs, states or outputs, would
    otherwise fail inside Dash as a KeyError or IndexError (500)."""
    if not isinstance(body, dict):
        return "a callback body is a JSON object"
    spec = spec_of(body["output"]) if isinstance(body.get("output"), str) else None
    if spec is None:
        return "no such callback"
    for key in ("inputs", "state", "changedPropIds"):
        if not isinstance(body.get(key, []), list):
            return f"{key} must be a list"
    for key in ("inputs", "state"):
        if len(body.get(key, [])) != len(spec.get(key, [])):
            return f"this callback takes {len(spec.get(key, []))} {key}"
        for item in body.get(key, []):
            for part in item if isinstance(item, list) else [item]:
                if not isinstance(part, dict) or "id" not in part or not isinstance(part.get("property"), str):
                    return "each input and state names an id and a property"
    return _outputs_problem(body.get("outputs"), spec.get("outputs_indices", 0))


def _outputs_problem(outputs: Any, indices: Any) -> str | None:
    if outputs is None:
        return None  # an older renderer: Dash reads the outputs from the output string
    wanted = len(indices) if isinstance(indices, list) else 1
    got = len(outputs) if isinstance(outputs, list) else 1 if isinstance(outputs, dict) else -1
    return None if got == wanted else f"this callback has {wanted} output(s)"


def shorten(value: Any, limit: int = 64) -> str:
    """A client-supplied value as a log line may carry it: repr'd (no newlines) and short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def install(server: Flask, trusted_proxies: int = 0, allowed_hosts: tuple[str, ...] | None = None) -> None:
    """Body limit, bounded JSON parsing, the Host allow-list and security headers on ``server``."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # Werkzeug: 413 however the body arrives (chunked too)
    server.json = BoundedJSONProvider(server)
    if trusted_proxies:
        # Behind Heroku's router remote_addr is the router; the client is the last X-Forwarded-For hop it added.
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask documents wrapping wsgi_app by assignment; its stubs type it as a method.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies,  # type: ignore[method-assign]
                                   x_host=0, x_port=0)

    if allowed_hosts is not None:
        @server.before_request
        def _host():  # a Flask hook; first of all (DNS rebinding: a foreign name for this address)
            if host_allowed(request.host, allowed_hosts):
                return None
            log.warning("refused a request for host %s from %s", shorten(request.host), request.remote_addr)
            return plain("unknown host: set ALLOWED_HOSTS to the names this app is reached by", 400)

    @server.after_request
    def _headers(response: Response) -> Response:  # every response, refusals and errors included
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
