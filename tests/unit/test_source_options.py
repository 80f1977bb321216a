"""A source table is checked like every other table (connector.sources.options): the invariant is
that a table the check passes builds its source, and one it refuses is refused naming the key.
Hypothesis searches for a table of keys and values of the expected types that does not build."""
from __future__ import annotations

import collections.abc
import typing
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connector.errors import ConfigError
from connector.sources import build
from connector.sources.options import _arms, check, keys, required, source_class

SYSTEMS = ("mediawiki", "wordpress", "misago", "discourse")


def _values(hint: Any) -> st.SearchStrategy:
    """TOML values that fit ``hint``."""
    arms = [a for a in _arms(hint) if a is not timedelta]
    if len(arms) > 1:
        return st.one_of(*(_values(a) for a in arms))
    hint = arms[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    text = st.text("abc:/_-", min_size=1, max_size=8)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(1, 50)
    if hint is float:
        return st.one_of(st.integers(1, 50), st.floats(0.5, 50))
    if hint is str:
        return text
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return st.tuples(*(_values(a) for a in args)).map(list)
    if origin in (tuple, list, collections.abc.Iterable, collections.abc.Sequence):
        return st.lists(_values(args[0]), max_size=3)
    if origin in (dict, collections.abc.Mapping):
        return st.dictionaries(text, _values(args[1]), max_size=2)
    raise AssertionError(f"no strategy for {hint}")


@st.composite
def tables(draw, system: str) -> dict:
    known = keys(source_class("s", system))
    needed = required(source_class("s", system))
    chosen = draw(st.lists(st.sampled_from(sorted(set(known) - set(needed))), unique=True, max_size=6))
    table = {k: ("http://127.0.0.1:9/" if k.endswith("url") else "x") for k in needed}
    table.update({k: draw(_values(known[k])) for k in chosen})
    return table


@pytest.mark.parametrize("system", SYSTEMS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_table_the_check_passes_builds_its_source(system, data):
    table = data.draw(tables(system))
    check("s", system, table)
    build("s", system, table)


@pytest.mark.parametrize("system, key, value, message", [
    ("mediawiki", "namespace", [0], "[sources.s] namespace: unknown key (did you mean namespaces?)"),
    ("mediawiki", "namespaces", "Main", '[sources.s] namespaces: expected a list of whole numbers, not "Main"'),
    ("wordpress", "rate_per_minute", "fast", '[sources.s] rate_per_minute: expected a number, not "fast"'),
    ("wordpress", "session", "x", "[sources.s] session: unknown key"),
    ("misago", "sleep", 0, "[sources.s] sleep: unknown key"),
    ("discourse", "clock", 1, "[sources.s] clock: unknown key"),
    ("misago", "rescan_window", 30, "[sources.s] rescan_window: unknown key (did you mean rescan_window_days?)"),
    ("misago", "category_visibility", {"a": "b"},
     "[sources.s] category_visibility: expected a table of lists of strings, not a table"),
])
def test_a_wrong_key_or_type_is_refused_naming_the_key(system, key, value, message):
    table = {k: "x" for k in required(source_class("s", system))} | {key: value}
    with pytest.raises(ConfigError) as refused:
        build("s", system, table)
    assert str(refused.value).startswith(message)
    assert "__init__" not in str(refused.value) and "positional" not in str(refused.value)


def test_a_missing_key_is_named_when_the_source_is_built():
    with pytest.raises(ConfigError, match=r"^\[sources.s\] needs api_url$"):
        build("s", "mediawiki", {"username": "u", "password": "p"})
    with pytest.raises(ConfigError, match=r"^\[sources.s\] needs app_password_env or app_password_file$"):
        build("s", "wordpress", {"base_url": "http://x/", "username": "u"})
    check("s", "mediawiki", {"username": "u"}, complete=False)     # the loader: keys and types only


def test_durations_are_given_in_their_unit():
    source = build("s", "misago", {"base_url": "http://x/", "username": "u", "password": "p",
                                   "overlap_minutes": 5, "rescan_window_days": 2})
    assert source.overlap == timedelta(minutes=5) and source.rescan_window == timedelta(days=2)
