"""Estimate the compressed Heroku slug the way the Python buildpack builds it.

    python -m scripts.slug_size                 # prints the figure; exit 1 above 480 MiB
    python -m scripts.slug_size --no-hooks      # the same build without bin/post_compile

What Heroku does on ``git push`` (heroku-buildpack-python ``bin/compile``), and what
this script does in a temporary build directory instead:

1. the pushed tree, minus what ``.slugignore`` names (Heroku removes those files after
   the push and *before* the buildpack runs, so ``.slugignore`` never reaches the
   installed packages): here the files git tracks, matched with gitignore rules;
2. the Python runtime in ``.heroku/python``: Heroku ships its own relocatable CPython
   built with ``--disable-test-modules``, no static library, no ``idle``/``pydoc``/``2to3``
   and only the plain ``.pyc`` level. Here: this machine's CPython 3.11 prefix with the
   same parts left out, and without its own site-packages;
3. ``pip install -r requirements.txt`` into that runtime's site-packages, with pip and
   setuptools as the buildpack pins them and bytecode compiled (pip's default); no
   dev requirements (the buildpack installs ``requirements-test.txt`` only for CI);
4. the ``bin/post_compile`` hook, run in the build directory like the buildpack runs it;
5. tar + gzip of the whole directory: the compressed size is what Heroku compares with
   its 500 MB limit (and warns about above 300 MB).

Sizes are in MiB (2**20 bytes), the stricter reading of Heroku's "500M".
"""
from __future__ import annotations

import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pathspec

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
HEROKU_LIMIT_MIB = 500
HEROKU_WARN_MIB = 300
CI_LIMIT_MIB = 480
# What the buildpack installs before the requirements (lib/pip.sh, requirements/pip.txt).
BUILDPACK_PIP = ("pip==26.2.1", "setuptools==70.3.0")
# Left out of Heroku's runtime build (builds/build_python_runtime.sh).
RUNTIME_SKIP_DIRS = {"site-packages", "test", "tests", "idle_test"}
RUNTIME_SKIP_BIN = ("idle", "pydoc", "2to3")


class _Counter(io.RawIOBase):
    """A write-only sink that counts bytes, so the tarball never touches the disk."""

    def __init__(self) -> None:
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.n += len(b)
        return len(b)


@dataclass
class Part:
    name: str
    path: Path
    exclude: Path | None = None  # a sub-tree counted as another part
    unpacked: int = 0
    compressed: int = 0


def copy_app(dest: Path) -> list[str]:
    """Copy the tracked files, minus what .slugignore names; the ignored paths."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    names = [n for n in files.decode().split("\0") if n and (ROOT / n).is_file()]
    ignore_file = ROOT / ".slugignore"
    spec = pathspec.PathSpec.from_lines("gitwildmatch", ignore_file.read_text().splitlines()
                                        if ignore_file.exists() else [])
    ignored = [n for n in names if spec.match_file(n)]
    for name in names:
        if name in ignored:
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return ignored


def _runtime_ignore(directory: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n in RUNTIME_SKIP_DIRS and Path(directory, n).is_dir()}
    skip |= {n for n in names if n.endswith(".a") or ".opt-1." in n or ".opt-2." in n}
    if Path(directory).name == "bin":
        skip |= {n for n in names if n.startswith(RUNTIME_SKIP_BIN) or n == "__pycache__"
                 or _is_console_script(Path(directory, n))}
    return skip


def _is_console_script(path: Path) -> bool:
    """A script some package installed into this prefix (pytest, aws, ...): not CPython's own."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as f:
        first = f.readline(200)
    return first.startswith(b"#!") and b"python" in first


def copy_runtime(prefix: Path, dest: Path) -> Path:
    """A Heroku-like CPython in ``dest`` from a local install; its site-packages path."""
    shutil.copytree(prefix, dest, symlinks=True, ignore=_runtime_ignore)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = dest / "lib" / version / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    return site


def pip_install(site: Path, runtime: Path) -> None:
    """The buildpack's install: its pip and setuptools, then requirements.txt, compiled.

    ``--target`` leaves console scripts (gunicorn, celery) in ``site/bin`` pointing at
    this interpreter; they move to the runtime's ``bin`` and run its python, as on Heroku.
    """
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
           "--target", str(site), *BUILDPACK_PIP, "-r", str(ROOT / "requirements.txt")]
    subprocess.run(cmd, check=True)
    python = runtime / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    if not (site / "bin").is_dir():
        return
    for script in sorted((site / "bin").glob("*")):
        text = script.read_bytes()
        if text.startswith(b"#!") and b"python" in text.split(b"\n", 1)[0]:
            text = b"#!" + str(python).encode() + b"\n" + text.split(b"\n", 1)[1]
        target = runtime / "bin" / script.name
        target.write_bytes(text)
        target.chmod(0o755)
        script.unlink()
    (site / "bin").rmdir()


def run_hook(build: Path, runtime: Path) -> bool:
    """Run bin/post_compile in the build dir as the buildpack does; False when there is none."""
    hook = build / "bin" / "post_compile"
    if not hook.exists():
        return False
    hook.chmod(0o755)
    env = {**os.environ, "PATH": f"{runtime / 'bin'}:{os.environ.get('PATH', '')}", "BUILD_DIR": str(build)}
    subprocess.run([str(hook)], cwd=build, env=env, check=True)
    return True


def measure(part: Part) -> None:
    """Unpacked bytes and gzip -6 (gzip's default level) bytes of a tar of ``part.path``."""
    skip = str(part.exclude) if part.exclude else None
    root = part.path.parent

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        full = str(root / info.name)
        if skip and (full == skip or full.startswith(skip + "/")):
            return None
        part.unpacked += info.size
        return info

    sink = _Counter()
    with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(part.path, arcname=part.path.name, filter=keep)
    part.compressed = sink.n


def build_and_measure(build: Path, prefix: Path, hooks: bool) -> tuple[list[Part], list[str], bool]:
    build.mkdir(parents=True)
    ignored = copy_app(build)
    runtime = build / ".heroku" / "python"
    site = copy_runtime(prefix, runtime)
    print(f"installing requirements.txt into {site} ...", file=sys.stderr, flush=True)
    pip_install(site, runtime)
    ran_hook = run_hook(build, runtime) if hooks else False
    # One gzip stream per part (a few bytes more than one stream): the table shows where the bytes are.
    parts = [Part("site-packages", site), Part("python runtime", runtime, exclude=site),
             Part("app", build, exclude=build / ".heroku")]
    for part in parts:
        print(f"compressing {part.name} ...", file=sys.stderr, flush=True)
        measure(part)
    return parts, ignored, ran_hook


def report(parts: list[Part], ignored: list[str], ran_hook: bool) -> int:
    total = sum(p.compressed for p in parts) / MIB
    print(f"{'part':<16} {'unpacked MiB':>13} {'compressed MiB':>15}")
    for p in parts:
        print(f"{p.name:<16} {p.unpacked / MIB:>13.1f} {p.compressed / MIB:>15.1f}")
    print(f"{'slug':<16} {sum(p.unpacked for p in parts) / MIB:>13.1f} {total:>15.1f}")
    print(f".slugignore removed {len(ignored)} tracked file(s); bin/post_compile "
          + ("ran" if ran_hook else "not run"))
    print(f"compressed slug: {total:.1f} MiB of Heroku's {HEROKU_LIMIT_MIB} MiB limit "
          f"(warning above {HEROKU_WARN_MIB}, CI fails above {CI_LIMIT_MIB})")
    if total > CI_LIMIT_MIB:
        print(f"error: compressed slug {total:.1f} MiB is above {CI_LIMIT_MIB} MiB (scripts/slug_size.py)",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python-prefix", type=Path, default=Path(sys.base_prefix),
                        help="CPython 3.11 install to count as the runtime (default: this interpreter's)")
    parser.add_argument("--no-hooks", action="store_true", help="skip bin/post_compile (to measure its effect)")
    parser.add_argument("--keep", type=Path, help="build here and keep it (to start the processes from it)")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 11):
        print(f"error: run with Python 3.11 (.python-version), not {sys.version.split()[0]}", file=sys.stderr)
        return 2
    if args.keep:
        if args.keep.exists():
            print(f"error: --keep {args.keep} already exists", file=sys.stderr)
            return 2
        parts, ignored, ran = build_and_measure(args.keep / "app", args.python_prefix, not args.no_hooks)
        return report(parts, ignored, ran)
    with tempfile.TemporaryDirectory(prefix="slug-") as tmp:
        parts, ignored, ran = build_and_measure(Path(tmp) / "app", args.python_prefix, not args.no_hooks)
        return report(parts, ignored, ran)


if __name__ == "__main__":
    sys.exit(main())
