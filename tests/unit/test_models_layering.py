"""The registry and the training entry module stay importable without TensorFlow."""
import subprocess
import sys

import pytest

from tests.support.services import ROOT


@pytest.mark.parametrize("module", ["store.registry", "jobs.candidates", "jobs.commands.train", "jobs.cli"])
def test_importing_does_not_load_tensorflow(module):
    # A fresh interpreter: this test process may already hold TensorFlow.
    code = f"import sys, {module}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_models_package_never_reads_the_environment():
    for path in (ROOT / "models").glob("*.py"):
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path.name
