"""Every command and option has help text (sqlite-utils style)."""
import click
from click.testing import CliRunner

from cli import main


def walk(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from walk(command, prefix + (name,))


def test_every_command_and_option_has_help():
    runner = CliRunner()
    for path, command in walk(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert command.help or command.short_help, f"{' '.join(path)} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_config_error_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["sync", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "configuration error" in result.output
