"""Write a new Alembic revision for what store/tables.py changed: `python -m scripts.new_migration "what changed"`.

Autogenerate compares the models with a scratch SQLite store built by replaying every existing
revision, so the new file holds exactly the difference. Read it before committing: autogenerate
cannot see renames (it writes a drop and an add) and skips expression indexes on SQLite.
"""
from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from store.schema import _config

FOUR_DIGITS = re.compile(r"\d{4}")


def next_id() -> str:
    """Revisions are numbered 0001, 0002, ...: the order they run in, readable in a listing."""
    ids = [rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()]
    newest = max(int(i) for i in ids if FOUR_DIGITS.fullmatch(i))
    return f"{newest + 1:04d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message", help="what the revision changes, in a few words")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        with engine.begin() as conn:
            command.upgrade(_config(conn), "head")
            rev = next_id()
            slug = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")[:40]
            command.revision(_config(conn), message=args.message, autogenerate=True, rev_id=rev)
        engine.dispose()
    for path in Path(__file__).resolve().parents[1].glob(f"store/migrations/versions/{rev}_*.py"):
        target = path.with_name(f"{rev}_{slug}.py")
        path.rename(target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
