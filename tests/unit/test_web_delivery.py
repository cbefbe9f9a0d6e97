"""What the web sends: compressed responses, long-lived caching, and a Plotly bundle that draws every chart."""
from __future__ import annotations

import re

import plotly

from dashboard.delivery import ONE_YEAR_S
from tests.support.services import ROOT
from tests.support.dash_client import render_page

BUNDLE = ROOT / "dashboard" / "assets" / "plotly-basic-4.1.1.min.js"


def _bundle_head() -> str:
    return BUNDLE.read_text()[:200]


def test_the_basic_bundle_is_the_plotly_js_version_dash_would_serve():
    version = plotly.offline.get_plotlyjs_version()
    assert f"plotly.js (basic - minified) v{version}" in _bundle_head(), (version, _bundle_head())
    assert BUNDLE.name == f"plotly-basic-{version}.min.js"


def test_every_trace_type_the_dashboard_draws_is_in_the_bundle():
    source = "\n".join(p.read_text() for p in (ROOT / "dashboard").rglob("*.py"))
    used = {name.lower() for name in re.findall(r"\bgo\.([A-Z][a-z]+)\(", source)} - {"figure"}
    assert used  # the scan found the traces (Scatter, Bar)
    bundle = BUNDLE.read_text()
    missing = [t for t in used if f'moduleType:"trace",name:"{t}"' not in bundle]
    assert missing == [], f"trace types not in plotly-basic: {missing}; use a larger partial bundle"


def test_the_shell_loads_the_basic_bundle_and_never_the_full_one(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert any(s.startswith("/assets/plotly-basic-") and "?m=" in s for s in scripts), scripts
    assert not any("plotly.min.js" in s for s in scripts)


def test_assets_and_callbacks_are_compressed_when_asked_and_plain_otherwise(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    asset = next(s for s in re.findall(r'src="([^"]+)"', client.get("/").get_data(as_text=True))
                 if "plotly-basic" in s)
    br = client.get(asset, headers={"Accept-Encoding": "br"})
    plain = client.get(asset, headers={"Accept-Encoding": "identity"})
    assert br.headers["Content-Encoding"] == "br" and "Content-Encoding" not in plain.headers
    assert len(br.get_data()) < len(plain.get_data()) / 2  # 1.2 MB of JavaScript compresses about 3:1
    assert br.headers["Vary"] == "Accept-Encoding"
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    # A page's callback JSON (the Forecast page's layout with its figures) is compressed too.
    layout = render_page(client, "/", headers={"Accept-Encoding": "br"})
    assert layout.status_code == 200 and layout.headers["Content-Encoding"] == "br"


def test_fingerprinted_assets_are_cached_for_a_year_others_revalidate(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    fingerprinted = client.get("/assets/plotly-basic-4.1.1.min.js?m=1")
    bare = client.get("/assets/plotly-basic-4.1.1.min.js")
    assert fingerprinted.cache_control.max_age == ONE_YEAR_S and fingerprinted.cache_control.public
    assert bare.cache_control.max_age != ONE_YEAR_S


def _fingerprinted_scripts(client) -> list[str]:
    """The shell's fingerprinted scripts: the plotly-basic asset and Dash's component suites."""
    html = client.get("/").get_data(as_text=True)
    return [s for s in re.findall(r'<script[^>]*src="([^"]+)"', html) if "?m=" in s or "_dash-component-suites" in s]


def test_fingerprinted_scripts_are_compressed_once_per_process_and_decode_to_the_file(dash_client, fixture_store_url,
                                                                                        monkeypatch):
    import brotli
    import gzip

    import dashboard.delivery as delivery

    client = dash_client(fixture_store_url)
    scripts = _fingerprinted_scripts(client)
    assert any("plotly-basic" in s for s in scripts) and any("_dash-component-suites" in s for s in scripts), scripts
    calls: list[str] = []
    real = delivery._compress_data
    monkeypatch.setattr(delivery, "_compress_data", lambda app, data, enc: calls.append(enc) or real(app, data, enc))
    for script in scripts:
        plain = client.get(script, headers={"Accept-Encoding": "identity"}).get_data()
        for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            first, again = (client.get(script, headers={"Accept-Encoding": f"{encoding}, deflate"}) for _ in range(2))
            for answer in (first, again):
                assert answer.status_code == 200 and answer.headers["Content-Encoding"] == encoding, script
                assert decode(answer.get_data()) == plain, script  # the file itself, whichever answer
                assert "Accept-Encoding" in answer.headers["Vary"]
                assert int(answer.headers["Content-Length"]) == len(answer.get_data())
    # Compressed once per script and encoding: the second request of each was served from the kept bytes.
    assert len(calls) == 2 * len(scripts), calls


def test_a_revalidated_compressed_asset_is_a_304_and_uncacheable_answers_are_not_kept(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    asset = next(s for s in _fingerprinted_scripts(client) if "plotly-basic" in s)
    first = client.get(asset, headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    assert etag.endswith(':br"')  # the compressed bytes' own validator, as Flask-Compress tags them
    again = client.get(asset, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    # A client that refuses brotli (q=0) gets the kept gzip bytes.
    assert client.get(asset, headers={"Accept-Encoding": "br;q=0, gzip"}).headers["Content-Encoding"] == "gzip"
    # The page and its callbacks change between requests: compressed (by Flask-Compress), never kept.
    cache = next(f for f in client.application.after_request_funcs[None] if type(f).__name__ == "Precompressed")
    before = dict(cache._bytes)
    page = client.get("/", headers={"Accept-Encoding": "br"})
    assert page.headers["Content-Encoding"] == "br" and cache._bytes == before


def test_invented_fingerprints_do_not_grow_the_kept_bytes(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    asset = next(s for s in _fingerprinted_scripts(client) if "plotly-basic" in s).split("?")[0]
    cache = next(f for f in client.application.after_request_funcs[None] if type(f).__name__ == "Precompressed")
    client.get(f"{asset}?m=1", headers={"Accept-Encoding": "br"})
    kept = dict(cache._bytes)
    for m in ("2", "x" * 500, "1&m=3"):
        assert client.get(f"{asset}?m={m}", headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"
    assert cache._bytes == kept
