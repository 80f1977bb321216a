"""Exit codes are defined once (connector/exitcodes.py): the README's table says the same, error
classes map as documented, and no module defines or exits with a number of its own."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main
from connector.cmis.client import RepositoryRefused, RepositoryUnavailable
from connector.errors import ConfigError, ConnectorError, Fatal, Retriable, RunLocked, Skippable, SourceUnavailable
from connector.exitcodes import MEANING, ExitCode, for_error, help_text, worst
from connector.http import HostUnresolved

ROOT = Path(__file__).resolve().parents[2]


def readme_table() -> dict[int, str]:
    """The rows of the README's "Exit codes" table: code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[:2] == ["| code | meaning |", "|---|---|"], rows[:2]
    table = {}
    for row in rows[2:]:
        code, meaning = re.fullmatch(r"\| (\d+) \| (.+) \|", row).groups()
        assert int(code) not in table, f"README lists exit code {code} twice"
        table[int(code)] = meaning
    return table


def test_the_readme_table_is_the_code_table_both_ways():
    readme, code = readme_table(), {int(c): meaning for c, meaning in MEANING.items()}
    assert sorted(set(code) - set(readme)) == [], "exit codes in connector/exitcodes.py missing from the README"
    assert sorted(set(readme) - set(code)) == [], "exit codes in the README that connector/exitcodes.py lacks"
    assert {c: (readme[c], code[c]) for c in code if readme[c] != code[c]} == {}
    assert set(MEANING) == set(ExitCode)


@pytest.mark.parametrize("error, code", [
    (ConfigError("x"), ExitCode.USAGE), (RunLocked("x"), ExitCode.LOCKED), (Retriable("x"), ExitCode.UNAVAILABLE),
    (SourceUnavailable("x"), ExitCode.UNAVAILABLE), (RepositoryUnavailable("x"), ExitCode.UNAVAILABLE),
    (HostUnresolved("cannot resolve host a.invalid"), ExitCode.UNAVAILABLE), (Fatal("x"), ExitCode.FATAL),
    (RepositoryRefused("x"), ExitCode.FATAL), (Skippable("x"), ExitCode.ERROR), (ConnectorError("x"), ExitCode.ERROR),
    (ValueError("a bug"), ExitCode.ERROR),
])
def test_each_error_class_has_its_code(error, code):
    assert for_error(error) is code


def test_the_worst_outcome_wins():
    assert worst([]) is ExitCode.OK
    assert worst([ExitCode.OK, ExitCode.UNAVAILABLE]) is ExitCode.UNAVAILABLE
    assert worst([ExitCode.UNAVAILABLE, ExitCode.FATAL, ExitCode.UNAVAILABLE]) is ExitCode.FATAL
    assert worst([ExitCode.FATAL, ExitCode.USAGE]) is ExitCode.USAGE


def test_click_usage_errors_exit_with_our_usage_code():
    assert click.UsageError.exit_code == click.BadParameter.exit_code == ExitCode.USAGE
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == ExitCode.USAGE


def test_help_lists_the_table():
    shown = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    assert help_text().startswith("\b\nExit codes:")
    for code, meaning in MEANING.items():
        assert f"{code.value} {meaning}" in shown


def test_no_module_defines_or_exits_with_a_number_of_its_own():
    """The counter-example search over the code: an EXIT_* constant, or sys.exit(<number>) other than 0."""
    found = []
    for path in [ROOT / "cli.py", *sorted((ROOT / "connector").rglob("*.py"))]:
        if path.name == "exitcodes.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bEXIT_[A-Z_]+\s*=|sys\.exit\(\s*[1-9]|exit_code\s*=\s*\d", line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
