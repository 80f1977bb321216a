"""A source system is named in its own package and in the registry line, nowhere else in the code.

That is what keeps a new system to its package plus one registry line (README, "Adding a source
system"): a module outside ``connector/sources/<system>/`` whose code names the system (an import,
a name, an attribute, a string other than a docstring; comments never count) is a counter-example.
Docstrings may name systems: they explain, they do not branch.
"""
from __future__ import annotations

import ast
from pathlib import Path

from connector.sources.registry import PATHS

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path("connector/sources/registry.py")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)}


def code_words(source: str) -> set[str]:
    """Lower-cased identifiers, attributes, imported names and non-docstring strings of a module.

    >>> sorted(code_words('"Doc about wikis."\\nimport a.b\\nx = "Misago"'))
    ['a.b', 'misago', 'x']
    """
    tree = ast.parse(source)
    skip = _docstring_nodes(tree)
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            words.update([node.module or ""] + [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            words.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            words.add(node.value)
    return {word.lower() for word in words}


def names(system: str, source: str) -> bool:
    """Whether the code of ``source`` names ``system`` (a word containing it: ``MisagoSource`` does)."""
    return any(system in word for word in code_words(source))


def files_naming(system: str) -> list[str]:
    own = Path("connector/sources") / system
    found = []
    for path in sorted((ROOT / "connector").rglob("*.py")) + [ROOT / "cli.py"]:
        relative = path.relative_to(ROOT)
        if relative.is_relative_to(own) or relative == REGISTRY:
            continue
        if names(system, path.read_text(encoding="utf-8")):
            found.append(str(relative))
    return found


def test_each_system_is_named_only_in_its_package_and_the_registry():
    reach = {system: files_naming(system) for system in PATHS}
    assert reach == {system: [] for system in PATHS}


def test_the_search_finds_a_system_named_in_code_but_not_in_a_docstring():
    assert names("misago", 'SYSTEMS = ("misago",)')
    assert names("mediawiki", "from connector.sources.mediawiki import api")
    assert names("confluence", "source = ConfluenceSource()")
    assert not names("wordpress", 'def f():\n    """Unlike WordPress, ..."""\n    return 1')
    assert not names("discourse", "x = 1  # Discourse would differ")
