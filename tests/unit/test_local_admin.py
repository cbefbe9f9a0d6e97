"""Issue 22, point 8: a local first start generates the admin password, keeps it only in the data
folder (0600) and says it once; a non-local bind, or ADMIN_PASSWORD set, generates nothing."""
from __future__ import annotations

import os
import re

import pytest

from config.local_admin import announcement, bind_host, is_local, local_admin
from config.settings import ConfigError, load_settings


def _settings(tmp_path, **env: str):
    return load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "DATA_DIR": str(tmp_path / "data"), **env},
                         uses=("web",))


@pytest.mark.parametrize("bind, host", [("127.0.0.1:8050", "127.0.0.1"), ("[::1]:8050", "::1"),
                                        ("localhost", "localhost"), ("0.0.0.0:5000", "0.0.0.0"),
                                        ("unix:/tmp/web.sock", ""), ("LOCALHOST:1", "localhost")])
def test_bind_host(bind, host):
    assert bind_host(bind) == host


@pytest.mark.parametrize("binds, local", [(["127.0.0.1:8050"], True), (["[::1]:8050", "localhost:8050"], True),
                                          (["0.0.0.0:5000"], False), (["127.0.0.1:8050", "0.0.0.0:8051"], False),
                                          (["192.168.1.5:8050"], False), (["unix:/tmp/web.sock"], False), ([], False)])
def test_only_loopback_binds_are_local(binds, local):
    assert is_local(binds) is local


def test_first_local_start_generates_a_0600_password_said_once(tmp_path):
    first = local_admin(_settings(tmp_path), ["127.0.0.1:8050"])
    assert first is not None and first.created and first.user == "admin" and len(first.password) >= 16
    path = tmp_path / "data" / "admin-password"
    assert first.path == path and path.read_text().strip() == first.password
    assert os.stat(path).st_mode & 0o777 == 0o600
    said = announcement(first)
    assert "http://127.0.0.1:8050/admin" in said and first.password in said
    again = local_admin(_settings(tmp_path), ["127.0.0.1:8050"])
    assert again is not None and not again.created and again.password == first.password  # kept, not regenerated
    assert first.password not in announcement(again) and str(path) in announcement(again)  # printed once only


@pytest.mark.parametrize("binds", [["0.0.0.0:5000"], ["127.0.0.1:8050", "10.0.0.2:8050"]])
def test_a_non_local_bind_generates_nothing(tmp_path, binds):
    assert local_admin(_settings(tmp_path), binds) is None
    assert not (tmp_path / "data" / "admin-password").exists()  # no file either


def test_admin_password_set_wins(tmp_path):
    assert local_admin(_settings(tmp_path, ADMIN_USER="boss", ADMIN_PASSWORD="chosen-one"), ["127.0.0.1:8050"]) is None
    assert not (tmp_path / "data" / "admin-password").exists()


def test_admin_user_names_the_generated_admin(tmp_path):
    assert local_admin(_settings(tmp_path, ADMIN_USER="boss"), ["localhost:8050"]).user == "boss"


@pytest.mark.parametrize("mode, content, message", [
    (0o644, "x" * 24, "readable by other users (mode 0644); run: chmod 600"),
    (0o600, "short", "does not hold a password"),
    (0o600, "has a space in it somewhere", "does not hold a password"),
])
def test_a_bad_password_file_is_one_clear_error(tmp_path, mode, content, message):
    path = tmp_path / "data" / "admin-password"
    path.parent.mkdir()
    path.write_text(content)
    path.chmod(mode)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        local_admin(_settings(tmp_path), ["127.0.0.1:8050"])
    assert str(path) in str(err.value) and content not in str(err.value)


def test_a_symlink_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("y" * 24)
    target.chmod(0o600)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "admin-password").symlink_to(target)
    with pytest.raises(ConfigError, match="not a regular file"):
        local_admin(_settings(tmp_path), ["127.0.0.1:8050"])
