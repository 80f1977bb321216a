"""docs/cli.md is generated from the commands' --help (`socialarchive docs cli`): every command and
every option is documented there, and the file is what the code generates today."""
from pathlib import Path

import click
from click.testing import CliRunner

from cli import main
from connector.clidoc import generate, sections, walk

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
HINT = "regenerate it: socialarchive docs cli --out docs/cli.md"


def test_reference_is_up_to_date():
    assert REFERENCE.read_text(encoding="utf-8") == generate(main), HINT
    result = CliRunner().invoke(main, ["docs", "cli", "--check", str(REFERENCE)])
    assert result.exit_code == 0, result.output


def test_every_command_and_option_is_documented():
    documented = sections(REFERENCE.read_text(encoding="utf-8"))
    for path, command, _ in walk(main):
        name = " ".join(path)
        assert name in documented, f"{name} is not in docs/cli.md ({HINT})"
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert opt in documented[name], f"{name} {opt} is not in docs/cli.md ({HINT})"
            elif isinstance(param, click.Argument):
                assert param.human_readable_name in documented[name], f"{name} {param.name}"


def test_check_flags_a_stale_reference(tmp_path):
    stale = tmp_path / "cli.md"
    stale.write_text(generate(main).replace("--since", "--from"), encoding="utf-8")
    result = CliRunner().invoke(main, ["docs", "cli", "--check", str(stale)])
    assert result.exit_code == 1 and "out of date" in result.output
