"""The CLI's house rules, searched for counter-examples over the code (issue #18): the library never
reaches the CLI (no module of ``connector`` outside ``connector/cli/`` imports it), a command module
imports what it uses at its top (no import inside a function, which would hide a cycle or a cost),
and every command of the app comes from the package."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click

from connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "connector" / "cli"


def _imports(path: Path):
    """(module named, at top level?) for every import in ``path``, relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, id(node) in top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            yield from ((f"{module}.{alias.name}", id(node) in top) for alias in node.names)


def test_no_library_module_imports_the_cli():
    found = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / "connector").rglob("*.py"))
             if CLI not in path.parents for name, _ in _imports(path)
             if name == "connector.cli" or name.startswith("connector.cli.") or name.split(".")[0] == "cli"]
    assert found == []


def test_command_modules_import_at_their_top_only():
    found = [f"{path.name}: {name}" for path in sorted(CLI.glob("*.py")) for name, top in _imports(path) if not top]
    assert found == []


def test_every_command_is_defined_in_the_package():
    def walk(command: click.Command):
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)
    outside = [c.name for c in walk(main) if not c.callback.__module__.startswith("connector.cli")]
    assert outside == []


def test_importing_the_cli_leaves_the_collector_as_it_found_it():
    """The collector pauses while the CLI's modules are imported (start-up time) and runs again
    after; a process that had switched it off keeps it off."""
    check = "import gc, sys; {0} import connector.cli; sys.exit(0 if gc.isenabled() is {1} else 1)"
    for before, expected in (("", True), ("gc.disable();", False)):
        done = subprocess.run([sys.executable, "-c", check.format(before, expected)], cwd=ROOT)
        assert done.returncode == 0, (before, expected)
