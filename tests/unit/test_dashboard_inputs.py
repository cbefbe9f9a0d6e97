"""Edge validation of browser values and of callback bodies: tables of bad inputs, each refused
with a sentence (never coerced), and the JSON nesting measure the body limit relies on."""
from __future__ import annotations

import json

import pytest

from dashboard import inputs, security


@pytest.mark.parametrize("value, expect", [
    (7, 7), (7.0, 7), ("7", 7), (" 12 ", 12), (500, 500), (1, 1),
    (0, "from 1 to 500, not 0"), (9999, "not 9999"), (2.5, "whole number"), ("2.5", "whole number"),
    ("", "blank"), (None, "blank"), ("  ", "blank"), (True, "whole number"), ("1e3", "whole number"),
    ("٣", "whole number"), ("²", "whole number"), ([3], "whole number"), ({"n": 3}, "whole number"),
    ("9" * 40, "whole number"), (float("nan"), "whole number"), (float("inf"), "whole number"),
])
def test_whole_numbers_are_never_coerced(value, expect):
    if isinstance(expect, int):
        assert inputs.whole_number(value, "epochs", 1, 500) == expect
    else:
        with pytest.raises(inputs.Refused, match=expect):
            inputs.whole_number(value, "epochs", 1, 500)


@pytest.mark.parametrize("value, expect", [
    ("AAPL", "AAPL"), (" msft ", "MSFT"), (None, "AAPL"),
    ("TSLA", "unknown ticker 'TSLA'"), ("", "unknown ticker ''"), (7, "unknown ticker 7"), (["AAPL"], "unknown"),
    ("X" * 100_000, r"unknown ticker 'XXXXXXXXXXXXXXXXXXXX\.\.\.; configured"),  # not echoed whole
])
def test_tickers_must_be_configured(value, expect):
    if expect in ("AAPL", "MSFT"):
        assert inputs.ticker(value, ("AAPL", "MSFT"), default="AAPL") == expect
    else:
        with pytest.raises(inputs.Refused, match=expect):
            inputs.ticker(value, ("AAPL", "MSFT"), default="AAPL")


def test_model_ids_fit_the_database():
    assert inputs.model_id(2**31 - 1) == 2**31 - 1
    for bad in (2**31, 10**30, 0, -1, 3.7, "abc"):
        with pytest.raises(inputs.Refused):
            inputs.model_id(bad)


def test_cells_are_refused_not_filtered():
    assert inputs.cells(["gru", "lstm", "gru"], ("simplernn", "lstm", "gru")) == ["gru", "lstm"]
    for bad in ([], None, "gru", ["gru", "bogus"], [["gru"]]):
        with pytest.raises(inputs.Refused):
            inputs.cells(bad, ("simplernn", "lstm", "gru"))


@pytest.mark.parametrize("text, depth", [("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ("[" * 40 + "]" * 40, 33)])
def test_json_depth_counts_and_stops_past_the_limit(text, depth):
    assert security.json_depth(json.loads(text), limit=32) == depth


def test_bounded_parser_turns_deep_nesting_into_a_value_error():
    from flask import Flask

    provider = security.BoundedJSONProvider(Flask(__name__))
    assert provider.loads('{"a": [1]}') == {"a": [1]}
    for text in ("[" * 33 + "]" * 33, "[" * 100_000 + "]" * 100_000):
        with pytest.raises(ValueError, match="nested"):
            provider.loads(text)


@pytest.mark.parametrize("proxies, seen", [(0, "10.0.0.9"), (1, "203.0.113.7")])
def test_client_address_behind_a_trusted_proxy(proxies, seen):
    """With WEB_TRUSTED_PROXIES=1 the login limit counts the client the router names, not the router."""
    from flask import Flask, request

    app = Flask(__name__)
    security.install(app, trusted_proxies=proxies)
    app.add_url_rule("/who", "who", lambda: request.remote_addr)
    r = app.test_client().get("/who", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"},
                              environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.get_data(as_text=True) == seen
    assert r.headers["X-Frame-Options"] == "DENY"


def test_trusted_proxies_setting_is_checked():
    from config.settings import ConfigError, load_settings

    assert load_settings({"WEB_TRUSTED_PROXIES": "1"}).web_trusted_proxies == 1
    for bad in ("-1", "9", "one"):
        with pytest.raises(ConfigError, match="WEB_TRUSTED_PROXIES"):
            load_settings({"WEB_TRUSTED_PROXIES": bad})
