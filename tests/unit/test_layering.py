"""The package layers, read from the source: a lower layer never names a higher one.

contract < marketdata < config < store < alerts, price_feed < {jobs, dashboard}; models sits beside the core
and may use only contract. Every import counts, lazy ones inside functions too, and so
does a higher package's name written as a dotted string (``"jobs.tasks"``).
"""
import ast
import re

import pytest

from tests.support.services import ROOT

OURS = ("contract", "marketdata", "config", "store", "alerts", "price_feed", "models", "jobs", "dashboard")
# What each package may import of ours (itself always).
ALLOWED = {
    "contract": set(),
    "marketdata": {"contract"},
    "config": {"contract", "marketdata"},
    "store": {"contract", "marketdata", "config"},
    "alerts": {"contract", "marketdata", "config", "store"},
    "models": {"contract"},
    # Fetching prices is used by the nightly run and by the admin's "Fetch prices now" alike: it sits
    # below both, so the web process never imports jobs (test_dashboard_no_tensorflow pins TensorFlow out).
    "price_feed": {"contract", "marketdata", "config", "store"},
    "jobs": {"contract", "marketdata", "config", "store", "alerts", "price_feed", "models"},
    "dashboard": {"contract", "marketdata", "config", "store", "alerts", "price_feed"},
}


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # "jobs.tasks" in a string is an import by name (Celery's include=, importlib).
            if re.fullmatch(r"[\w.:]+", node.value) and node.value != "models.id":  # the models table's key
                found.update(m.group(1) for m in re.finditer(r"\b(%s)\.[a-z_]+\b" % "|".join(OURS), node.value))
    return found & set(OURS)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_lower_layers(package):
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = _imports(path) - ALLOWED[package] - {package}
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert not bad, f"{package} names a higher layer: {bad}"


def test_scripts_never_import_tests():
    """Tests may import the scripts they test; scripts (benchmarks, tools) never import tests."""
    bad = []
    for path in sorted((ROOT / "scripts").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            bad += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] == "tests"]
    assert not bad, bad


def test_the_celery_worker_imports_every_package_its_tasks_import_lazily():
    """Celery drops the working directory from sys.path after loading jobs.worker; a package the tasks
    import later (alerts, at a run's end) must be imported by the worker at load, or it is not found
    ("No module named 'alerts'" ended every worker run's request as not run)."""
    import ast

    tree = ast.parse((ROOT / "jobs" / "worker.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert ALLOWED["jobs"] | {"jobs"} <= imported, sorted(ALLOWED["jobs"] | {"jobs"} - imported)
