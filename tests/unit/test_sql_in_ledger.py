"""The ledger is the only code that runs SQL (issue #18): a search of every shipped module outside
``connector/store/`` for a counter-example - a call of ``execute``/``executemany``/
``executescript``/``cursor``, an ``import sqlite3``, a reach into a ledger's connection (``.db``),
or a string holding SQL (DDL, ``PRAGMA``, writes, or a read naming one of the ledger's tables; CMIS
queries, ``SELECT ... FROM sa:document``, name no ledger table and pass)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from connector.store import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "connector" / "store"
TABLES = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA)
SQL = re.compile(r"\b(CREATE (TABLE|INDEX)|ALTER TABLE|DROP TABLE|PRAGMA|INSERT (OR \w+ )?INTO|DELETE FROM|"
                 r"BEGIN IMMEDIATE|SAVEPOINT|(FROM|JOIN|UPDATE) (" + "|".join(TABLES) + r")\b)")
CALLS = {"execute", "executemany", "executescript", "cursor"}


def shipped_modules() -> list[Path]:
    """Every module the package installs, and the card's entry script."""
    found = [p for p in (ROOT / "connector").rglob("*.py") if LEDGER not in p.parents]
    return sorted(found + [p for p in ROOT.glob("*.py") if p.name not in ("setup.py", "conftest.py")])


def counter_examples(source: str) -> list[str]:
    """What in ``source`` runs SQL or reaches for a connection, each as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS:
            found.append(f"{node.lineno}: .{node.func.attr}(")
        elif isinstance(node, ast.Attribute) and node.attr == "db":
            found.append(f"{node.lineno}: .db")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if "sqlite3" in names:
                found.append(f"{node.lineno}: import sqlite3")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{node.lineno}: SQL {SQL.search(node.value).group(0)!r}")
    return found


def test_the_search_finds_sql_where_it_is():
    """The search itself: each kind of counter-example it is to find, it finds."""
    assert TABLES and "versions" in TABLES and "holds" in TABLES
    for snippet in ('ledger.db.execute("SELECT 1")', "import sqlite3", "x = conn.cursor()",
                    'q = "SELECT summary FROM runs WHERE source=?"', "q = f'UPDATE holds SET note={n}'",
                    "q = 'PRAGMA table_info(records)'", 'q = "SELECT v.key FROM x v JOIN versions r"'):
        assert counter_examples(snippet), snippet
    assert not counter_examples('q = "SELECT cmis:objectId FROM sa:document WHERE IN_TREE(\'x\')"')


def test_no_sql_outside_the_ledger():
    modules = shipped_modules()
    assert {ROOT / "connector" / "pipeline.py", ROOT / "connector" / "archive.py"} <= set(modules)
    found = {str(p.relative_to(ROOT)): hits for p in modules
             if (hits := counter_examples(p.read_text(encoding="utf-8")))}
    assert not found, f"SQL outside connector/store/: {found}"
