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
"""
from __future__ import annotations

from dash import Dash
from flask import Response, request
from flask_compress import Compress

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
    server.after_request(_cache_fingerprinted_assets)
