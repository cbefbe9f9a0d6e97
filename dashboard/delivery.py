"""How the web's bytes travel: compressed responses, long-lived caching, the smaller Plotly bundle.

- Compression (Flask-Compress): brotli, else gzip, for HTML, CSS, JavaScript and the
  JSON of callbacks. plotly.js shrinks from 4.8 MB to about 1.3 MB on the wire, a
  forecast callback from 119 kB to a fifth of it.
- Plotly: every chart the app draws is a scatter or bar trace on cartesian axes
  (with shapes, annotations and a range selector, which the core of plotly.js has),
  so the 1.2 MB ``plotly-basic`` bundle of the same plotly.js version as Dash's
  4.8 MB full bundle is served from ``assets/``. It sets ``window.Plotly`` before
  the first graph mounts, and dcc.Graph then never fetches the full bundle.
- Caching: Dash's component scripts carry a version fingerprint and a one-year
  ``max-age``; assets carry an ``?m=<mtime>`` fingerprint, so they get the same.
- Compressed once: a fingerprinted file never changes under its URL, so each process
  compresses it once per encoding and keeps the bytes (``Precompressed``); Flask-Compress
  used to compress plotly.js and Dash's scripts again for every first visit.
"""
from __future__ import annotations

import threading

from dash import Dash
from flask import Flask, Response, request
from flask_compress import Compress
from flask_compress.flask_compress import _compress_data

ONE_YEAR_S = 31536000
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/csv", "application/javascript",
                    "text/javascript", "application/json"]


def _cache_fingerprinted_assets(response: Response) -> Response:
    """A fingerprinted asset (``/assets/x.js?m=...``) never changes under its URL."""
    if request.path.startswith("/assets/") and "m" in request.args and response.status_code == 200:
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR_S
        response.cache_control.no_cache = None
    return response


class Precompressed:
    """The compressed bytes of every fingerprinted response (one-year ``max-age``), per URL and encoding.

    Runs before Flask-Compress, which leaves a response that already has a ``Content-Encoding`` alone. The
    bytes are Flask-Compress's own (same algorithm and level), so only the CPU changes. What is kept is
    bounded: the fingerprinted files are the app's scripts and assets (1.35 MiB in both encodings), and past
    ``max_bytes`` a response is compressed as before, uncached."""

    ENCODINGS = ("br", "gzip")

    def __init__(self, server: Flask, max_bytes: int = 16 * 2**20):
        self.server, self.max_bytes = server, max_bytes
        self._bytes: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()

    def _eligible(self, response: Response) -> bool:
        return (request.method == "GET" and response.status_code == 200 and "Content-Encoding" not in response.headers
                and response.mimetype in COMPRESSED_TYPES and (response.cache_control.max_age or 0) >= ONE_YEAR_S)

    def __call__(self, response: Response) -> Response:
        encoding = request.accept_encodings.best_match(self.ENCODINGS)
        if encoding is None or not self._eligible(response):
            return response
        # The path and the file's validator, not the query: ``?m=`` with any value is fingerprinted, and
        # a client inventing values must not grow the cache (Dash's paths carry their version).
        key = (request.path, response.get_etag()[0] or "", encoding)
        unread = response.response  # a file send_file opened: closed below, read or not
        body = self._bytes.get(key)
        if body is None:
            response.direct_passthrough = False  # a file response: read it
            body = _compress_data(self.server, response.get_data(), encoding)
            with self._lock:
                if sum(map(len, self._bytes.values())) + len(body) <= self.max_bytes:
                    self._bytes[key] = body
        response.direct_passthrough = False
        response.set_data(body)
        if hasattr(unread, "close"):
            unread.close()
        response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
        etag, weak = response.get_etag()
        if etag and not weak:
            response.set_etag(f"{etag}:{encoding}")  # as Flask-Compress tags what it compresses
        response.make_conditional(request)  # a revalidation of these bytes is a 304 (changes response in place)
        return response


def install(app: Dash) -> None:
    """Compression and asset caching on the app's Flask server."""
    server = app.server
    server.config.update(
        COMPRESS_ALGORITHM=["br", "gzip"],
        # Assets are sent as streams; gzip cannot be streamed by Flask-Compress, brotli can.
        COMPRESS_ALGORITHM_STREAMING=["br"],
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_BR_LEVEL=5,
        COMPRESS_MIN_SIZE=500,
    )
    Compress(server)
    # Flask calls after_request hooks last-registered first: the max-age, then Precompressed, then Compress.
    server.after_request(Precompressed(server))
    server.after_request(_cache_fingerprinted_assets)
