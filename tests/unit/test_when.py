"""One date/time parser for every command (connector/when.py): the forms it reads, what it refuses,
and that what the CLI prints (``iso``) is read back to the same instant."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import click
import pytest
from hypothesis import given, strategies as st

from cli import main
from connector.when import WHEN, When, iso, parse_when, pasteable

UTC = timezone.utc
JAN31 = datetime(2024, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("2024-01-31", JAN31),
    ("2024-01-31T10:00", JAN31 + timedelta(hours=10)),
    ("2024-01-31T10:00:00", JAN31 + timedelta(hours=10)),
    ("2024-01-31 10:00:00", JAN31 + timedelta(hours=10)),
    (" 2024-01-31 10:00:00 ", JAN31 + timedelta(hours=10)),
    ("2024-01-31T10:00:00Z", JAN31 + timedelta(hours=10)),
    ("2024-01-31t10:00z", JAN31 + timedelta(hours=10)),
    ("2024-01-31T10:00:00.250Z", JAN31 + timedelta(hours=10, milliseconds=250)),
    ("2024-01-31T10:00:00+02:00", JAN31 + timedelta(hours=8)),
    ("2024-01-31T10:00+0200", JAN31 + timedelta(hours=8)),
    ("2024-01-31T10:00:00-05:30", JAN31 + timedelta(hours=15, minutes=30)),
    ("2024-01-31T10:00:00+00:00", JAN31 + timedelta(hours=10)),
])
def test_every_documented_form_is_read_and_naive_means_utc(text, expected):
    when = parse_when(text)
    assert when == expected and when.tzinfo == UTC


@pytest.mark.parametrize("text", ["last tuesday", "31.01.2024", "2024/01/31", "20240131", "2024-W05-3",
                                  "2024-01-31Z", "2024-01-31T10", "2024-01-31T10:00 CET", "", "   ",
                                  "2024-01-31T10:00:00+2", "１９９９-01-01"])
def test_other_forms_are_refused_with_the_accepted_ones(text):
    with pytest.raises(ValueError, match=r"is not a date or time: give YYYY-MM-DD or YYYY-MM-DDTHH:MM\[:SS\]"):
        parse_when(text)


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01", "2024-01-31T25:00", "2024-01-31T10:61"])
def test_a_right_form_with_impossible_values_says_so(text):
    with pytest.raises(ValueError, match="is not a valid date or time: .*(range|must be)"):
        parse_when(text)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])))
def test_what_the_cli_prints_reads_back_to_the_same_second(when):
    printed = iso(when)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", printed)
    assert parse_when(printed) == when.replace(microsecond=0)
    assert pasteable(when.isoformat()) == printed == pasteable(printed)


@given(st.text(max_size=40))
def test_any_text_is_a_utc_time_or_a_value_error(text):
    try:
        when = parse_when(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
    else:
        assert when.tzinfo == UTC


def test_pasteable_leaves_what_is_not_a_time_alone():
    assert pasteable("cursor:abc") == "cursor:abc" and pasteable(None) is None and pasteable(42) == 42
    assert pasteable("2026-12-03T17:20:57.123+00:00") == "2026-12-03T17:20:57Z"
    assert pasteable("2026-12-03T17:20:57") == "2026-12-03T17:20:57Z"     # a WordPress GMT checkpoint


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_no_command_reads_a_time_any_other_way():
    """The counter-example search: any option with a date or time in it, on any command."""
    timed = {}
    for path, command in _commands(main):
        for param in command.params:
            if isinstance(param.type, click.DateTime) or param.name in ("since", "until"):
                timed[f"{path} --{param.name}"] = param
    assert {"search --since", "hold add --until", "export --since", "plan --since", "backfill --until",
            "report --since"} <= set(timed)
    wrong = {name for name, param in timed.items() if not isinstance(param.type, When)}
    assert not wrong
    undocumented = {name for name, param in timed.items() if "UTC unless it ends in Z" not in (param.help or "")}
    assert not undocumented


def test_the_click_type_fails_as_a_usage_error_naming_the_option():
    with pytest.raises(click.BadParameter, match="'yesterday' is not a date or time"):
        WHEN.convert("yesterday", None, None)
    assert WHEN.convert(JAN31, None, None) is JAN31
