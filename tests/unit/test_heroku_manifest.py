"""app.json, the Procfile, .slugignore and the configuration module agree with each other."""
from __future__ import annotations

import ast
import json
import re

import pathspec

from tests.support.services import ROOT

DYNO_SIZES = {"basic", "standard-1X", "standard-2X", "performance-M", "performance-L"}


def _manifest() -> dict:
    return json.loads((ROOT / "app.json").read_text())


def _procfile_types() -> set[str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {m.group(1) for line in lines if (m := re.match(r"^([a-z][a-z0-9_-]*):\s*\S", line))}


def _variables_config_reads() -> set[str]:
    """Names passed to ``env.get("X")`` / ``_int(env, "X", ...)`` in config/settings.py."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reads_env = (isinstance(func, ast.Attribute) and func.attr == "get"
                     and isinstance(func.value, ast.Name) and func.value.id == "env")
        reads_int = isinstance(func, ast.Attribute) and func.attr == "int" and isinstance(func.value, ast.Name)
        if reads_env or reads_int or (isinstance(func, ast.Name) and func.id == "_int"):
            names |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                      and re.fullmatch(r"[A-Z][A-Z0-9_]+", a.value)}
    return names


def test_formation_names_every_long_running_procfile_process_and_nothing_else():
    # release runs once per deploy, not as a dyno; every other process type needs a formation entry.
    assert set(_manifest()["formation"]) == _procfile_types() - {"release"}


def test_formation_sizes_are_real_dyno_sizes_and_one_clock():
    formation = _manifest()["formation"]
    assert all(f["size"] in DYNO_SIZES for f in formation.values()), formation
    assert formation["clock"]["quantity"] == 1  # two clocks would run every job twice


def test_every_variable_in_app_json_is_read_by_the_configuration_module():
    read = _variables_config_reads()
    assert {"DATABASE_URL", "REDIS_URL", "ADMIN_PASSWORD"} <= read  # the parser sees config.py's reads
    env = _manifest()["env"]
    assert set(env) <= read, set(env) - read


def test_the_admin_password_is_generated_never_a_default():
    password = _manifest()["env"]["ADMIN_PASSWORD"]
    assert password.get("generator") == "secret" and "value" not in password


def test_addons_provide_the_database_and_redis_that_config_reads():
    plans = [a["plan"].split(":")[0] for a in _manifest()["addons"]]
    assert plans == ["heroku-postgresql", "heroku-redis"]


def test_slugignore_keeps_everything_a_process_or_the_build_needs():
    spec = pathspec.PathSpec.from_lines("gitwildmatch", (ROOT / ".slugignore").read_text().splitlines())
    needed = ["Procfile", "requirements.txt", ".python-version", "bin/post_compile", "dashboard/app.py",
              "dashboard/assets/plotly-basic-4.1.1.min.js", "jobs/__main__.py", "config/settings.py",
              "models/network.py"]
    assert [p for p in needed if spec.match_file(p)] == []
    assert spec.match_file("tests/conftest.py") and spec.match_file("docs/screenshot-forecast.png")
