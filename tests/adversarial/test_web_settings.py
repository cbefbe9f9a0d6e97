"""The web's new settings refuse bad values in one line: ALLOWED_HOSTS and WEB_REQUEST_TIMEOUT."""
from __future__ import annotations

import os
import subprocess

import pytest

from config.settings import ConfigError, load_settings
from tests.support.services import ROOT


@pytest.mark.parametrize("value", ["http://my-app.herokuapp.com", "my-app.herokuapp.com:443", "a b", "evil.test/x",
                                   "*", "-bad-.example.com", "a..b", "x" * 300, "my-app.herokuapp.com, ,http://x"])
def test_allowed_hosts_that_are_not_host_names_are_refused(value):
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS: .* is not a host name"):
        load_settings({"ALLOWED_HOSTS": value}, uses=["web"])


@pytest.mark.parametrize("value, hosts", [
    ("", ("localhost", "127.0.0.1", "::1")),
    ("My-App.HerokuApp.com", ("my-app.herokuapp.com",)),
    (" .example.com , forecast.example.org ", (".example.com", "forecast.example.org")),
    ("[::1],10.0.0.5", ("::1", "10.0.0.5")),
])
def test_allowed_hosts_are_read_as_lower_case_names(value, hosts):
    assert load_settings({"ALLOWED_HOSTS": value}, uses=["web"]).allowed_hosts == hosts


@pytest.mark.parametrize("value", ["0", "30", "120", "-5", "2.5", "soon"])
def test_a_request_timeout_at_or_past_the_routers_30_s_is_refused(value):
    with pytest.raises(ConfigError, match="WEB_REQUEST_TIMEOUT"):
        load_settings({"WEB_REQUEST_TIMEOUT": value}, uses=["web"])


def test_the_clock_does_not_stop_for_a_bad_web_setting():
    assert load_settings({"ALLOWED_HOSTS": "http://x", "WEB_REQUEST_TIMEOUT": "99"}, uses=["core", "clock"])


def test_gunicorn_with_a_bad_allowed_hosts_stops_with_one_line(tmp_path):
    from scripts.web_server import free_port, gunicorn_bin

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "DATA_DIR": str(tmp_path / "data"),
           "ALLOWED_HOSTS": "https://my-app.herokuapp.com"}
    env.pop("REDIS_URL", None)
    result = subprocess.run([gunicorn_bin(), "-w", "1", "-b", f"127.0.0.1:{free_port()}", "dashboard.app:create_server()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]  # gunicorn.conf.py: checked in the master
    ours = [line for line in result.stderr.splitlines() if "error" in line.lower()]  # beside gunicorn's INFO lines
    assert "Booting worker" not in result.stderr and ours == ["error: ALLOWED_HOSTS: 'https://my-app.herokuapp.com' is not a host name; use names like "
                    "my-app.herokuapp.com,.example.com (no scheme, no port)"]
    assert "Traceback" not in result.stderr
