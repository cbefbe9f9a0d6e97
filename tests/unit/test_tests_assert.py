"""Every test asserts something: a test whose body checks nothing passes whatever the code does.

A ``test_*`` function counts as asserting when its body (nested functions included) has an
``assert`` statement, uses ``pytest.raises`` / ``pytest.warns`` (as a context or a call) or
calls ``pytest.fail``, or calls a helper whose name starts with ``assert_`` or ``expect``
(Playwright's ``expect(...)``, ``mock.assert_called_once()``, tests/support/cli.py's
``assert_one_error_line``).
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support.services import ROOT

PYTEST_CHECKS = {"raises", "warns", "fail"}


def files_named_test() -> list[Path]:
    return sorted((ROOT / "tests").rglob("test_*.py"))


def _called_name(call: ast.Call) -> tuple[str | None, str]:
    """(the object it is called on, when that is a plain name; the function's name)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return (func.value.id if isinstance(func.value, ast.Name) else None), func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def asserts(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            owner, name = _called_name(node)
            if owner == "pytest" and name in PYTEST_CHECKS:
                return True
            if owner is None and name in PYTEST_CHECKS:  # from pytest import raises
                return True
            if name.startswith(("assert_", "expect")):
                return True
    return False


def functions_named_test(tree: ast.Module):
    """Module-level ``test_*`` functions and ``test_*`` methods of ``Test*`` classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test_"):
                    yield item


def offenders() -> list[str]:
    found = []
    for path in files_named_test():
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in functions_named_test(tree):
            if not asserts(function):
                found.append(f"{path.relative_to(ROOT)}::{function.name}")
    return found


def test_the_walk_finds_the_test_files_and_this_check():
    files = {str(p.relative_to(ROOT)) for p in files_named_test()}
    assert "tests/unit/test_tests_assert.py" in files
    assert {f.split("/")[1] for f in files} >= {"unit", "integration", "adversarial", "e2e"}


def test_the_check_tells_an_assertion_from_none():
    tree = ast.parse('''
def test_nothing():
    compute(1)

def test_plain():
    assert compute(1) == 1

def test_raises():
    with pytest.raises(ValueError):
        compute(-1)

def test_helper():
    assert_one_error_line(run("x"), "bad")

def test_playwright():
    expect(page.locator("h1")).to_have_text("Forecast")

def test_mock():
    mock.assert_called_once_with(1)

def test_fail_in_a_branch():
    if compute(1) != 1:
        pytest.fail("wrong")

def test_only_skips():
    pytest.skip("later")
''')
    verdicts = {f.name: asserts(f) for f in functions_named_test(tree)}
    assert verdicts == {"test_nothing": False, "test_plain": True, "test_raises": True, "test_helper": True,
                        "test_playwright": True, "test_mock": True, "test_fail_in_a_branch": True,
                        "test_only_skips": False}


def test_every_test_asserts_something():
    missing = offenders()
    assert not missing, "tests that assert nothing:\n" + "\n".join(missing)

