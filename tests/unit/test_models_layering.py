"""The registry and the training entry module stay importable without TensorFlow."""
import subprocess
import sys

from tests.support.services import ROOT

LIGHT = ("store.registry", "jobs.candidates", "jobs.commands.train", "jobs.cli")


def test_importing_does_not_load_tensorflow():
    # A fresh interpreter: this test process may already hold TensorFlow. One interpreter imports the modules in
    # turn and says after each whether TensorFlow or Keras is loaded by then, so the first that loads either is
    # named (one interpreter, as tests/unit/test_clock_imports.py: each start costs a second or more of CPU).
    code = ("import importlib, sys\n"
            f"for name in {LIGHT!r}:\n"
            "    importlib.import_module(name)\n"
            "    print(name, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{name} False False" for name in LIGHT]


def test_models_package_never_reads_the_environment():
    for path in (ROOT / "models").glob("*.py"):
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path.name
