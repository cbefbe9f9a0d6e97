"""The slug estimator's build steps and the bin/post_compile hook, on small real trees."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import slug_size
from tests.support.services import ROOT


def test_the_pushed_tree_honours_slugignore(tmp_path):
    ignored = slug_size.copy_app(tmp_path)
    assert not (tmp_path / "tests").exists() and not (tmp_path / "docs").exists()
    assert any(name.startswith("tests/") for name in ignored)
    # What the dynos and the build need is there.
    for needed in ("Procfile", "requirements.txt", ".python-version", "bin/post_compile", "dashboard/app.py",
                   "jobs/child.py", "models/network.py"):
        assert (tmp_path / needed).is_file(), needed


def test_the_runtime_is_cpython_without_what_herokus_build_leaves_out(tmp_path):
    site = slug_size.copy_runtime(Path(sys.base_prefix), tmp_path / "python")
    lib = site.parent
    assert (lib / "os.py").is_file() and site.is_dir() and list(site.iterdir()) == []
    assert not (lib / "test").exists() and not list((tmp_path / "python").rglob("*.a"))
    assert not list((tmp_path / "python" / "bin").glob("idle*"))


def _site(root: Path) -> Path:
    site = root / ".heroku/python/lib/python3.11/site-packages"
    for rel in ("tensorflow/include/tsl/a.h", "clang/cindex.py", "libclang-18.1.1.dist-info/METADATA",
                "pandas/tests/test_x.py", "pandas/core/frame.py", "keras/src/ops/core.py"):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text("x")
    return site


@pytest.mark.skipif(shutil.which("strip") is None, reason="binutils strip not installed")
def test_post_compile_removes_what_no_process_loads_and_keeps_libraries_loadable(tmp_path):
    site = _site(tmp_path)
    # A real shared library standing in for libtensorflow_cc.so.2: it must still load after strip.
    lib = Path("/lib/x86_64-linux-gnu/libz.so.1")
    if not lib.exists():
        pytest.skip("no libz to stand in for a TensorFlow library")
    shutil.copy(lib, site / "tensorflow" / "libtensorflow_cc.so.2")
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "post_compile", tmp_path / "bin" / "post_compile")
    out = subprocess.run(["bash", "bin/post_compile"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not (site / "tensorflow/include").exists() and not (site / "clang").exists()
    assert not list(site.glob("libclang-*")) and not (site / "pandas/tests").exists()
    assert (site / "pandas/core/frame.py").is_file() and (site / "keras/src/ops/core.py").is_file()
    ctypes.CDLL(str(site / "tensorflow" / "libtensorflow_cc.so.2"))  # still loads after strip
    assert "site-packages" in out.stdout


def test_post_compile_fails_loudly_without_a_site_packages(tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "post_compile", tmp_path / "bin" / "post_compile")
    out = subprocess.run(["bash", "bin/post_compile"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "expected one .heroku/python/lib/python3.*/site-packages" in out.stderr


def test_the_report_fails_above_480_mib(capsys):
    big = slug_size.Part("site-packages", Path("."), compressed=481 * slug_size.MIB)
    small = slug_size.Part("site-packages", Path("."), compressed=400 * slug_size.MIB)
    assert slug_size.report([small], [], True) == 0
    assert slug_size.report([big], [], True) == 1
    assert "error: compressed slug 481.0 MiB is above 480 MiB" in capsys.readouterr().err
