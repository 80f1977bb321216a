"""The keys a ``[sources.NAME]`` table may hold, and their types, read from the source class's
constructor, so that a source table is checked when the config loads like every other table:
a typo, a wrong type or a missing key is one line naming the key, never Python's own message
(``__init__() got an unexpected keyword argument``) or a crash in the middle of a run.

Example::

    [sources.wiki] namespace: unknown key (did you mean namespaces?)
    [sources.wiki] namespaces: expected a list of whole numbers, not "Main"
    [sources.blog] needs base_url

Not keys: the constructor's wiring (``name``, ``session``, ``sleep``, ``clock``) and durations,
which TOML cannot write; a duration is set in minutes or days (``overlap_minutes``,
``rescan_window_days``). The change sweep's keys (``SWEEP_OPTIONS``) belong to every source.
"""
from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from datetime import timedelta
from typing import Any

from ..configcheck import _did_you_mean, _shown
from ..errors import ConfigError
from .base import Source
from .registry import SOURCES

WIRING = frozenset({"name", "session", "sleep", "clock"})
# config key -> (constructor parameter, unit of the number)
DURATIONS = {"overlap_minutes": ("overlap", "minutes"), "rescan_window_days": ("rescan_window", "days")}
SWEEP_KINDS = {"sweep_period_days": float, "sync_every_minutes": float, "sweep_max_requests": int}   # SWEEP_OPTIONS


def source_class(name: str, system: str) -> type[Source]:
    """The class of ``type = system`` (``registry.SOURCES``), for the table ``[sources.name]``."""
    if system not in SOURCES:
        raise ConfigError(f"[sources.{name}] type: {_shown(system)} is not one of {', '.join(SOURCES)}")
    return SOURCES[system]


def keys(cls: type) -> dict[str, Any]:
    """Config key -> expected type (a typing hint), for the source class ``cls``."""
    hints = typing.get_type_hints(cls.__init__)
    out: dict[str, Any] = dict(SWEEP_KINDS)
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.name in WIRING:
            continue
        hint = hints.get(param.name, Any)
        duration = next((key for key, (target, _) in DURATIONS.items() if target == param.name), None)
        if duration:
            out[duration] = float
        elif hint is not timedelta:
            out[param.name] = hint
    return out


def required(cls: type) -> list[str]:
    return [p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
            if p.default is inspect.Parameter.empty and p.name not in WIRING
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check(name: str, system: str, options: dict[str, Any], *, complete: bool = True) -> None:
    """Raise ConfigError for the first unknown key, value of the wrong type or (``complete``)
    missing key of a source table (``options``: the table without ``type``, secrets resolved).
    The config loader checks keys and types only: a source a command does not read may lack its
    account (a retired or templated table); building the source needs it whole."""
    known = keys(source_class(name, system))
    for key, value in options.items():
        if key not in known:
            raise ConfigError(f"[sources.{name}] {key}: unknown key{_did_you_mean(key, known)}")
        if not fits(value, known[key]):
            raise ConfigError(f"[sources.{name}] {key}: expected {describe(known[key])}, not {_shown(value)}")
    for key in required(source_class(name, system)) if complete else ():
        if key not in options:
            secret = key in ("password", "api_key", "app_password", "token", "secret")
            raise ConfigError(f"[sources.{name}] needs {key}_env or {key}_file" if secret else f"[sources.{name}] needs {key}")


def constructor_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Checked options as the constructor takes them: lists as tuples, durations as timedelta."""
    kwargs = {}
    for key, value in options.items():
        if key in SWEEP_KINDS:
            continue
        if key in DURATIONS:
            target, unit = DURATIONS[key]
            kwargs[target] = timedelta(**{unit: float(value)})
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    return kwargs


def _arms(hint: Any) -> tuple:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(hint) if a is not type(None))
    return (hint,)


def fits(value: Any, hint: Any) -> bool:
    """Whether a TOML value can be given where the constructor expects ``hint``."""
    if len(_arms(hint)) > 1:
        return any(fits(value, arm) for arm in _arms(hint))
    hint = _arms(hint)[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, list):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(fits(v, a) for v, a in zip(value, args))
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        return isinstance(value, list) and all(fits(v, args[0] if args else Any) for v in value)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict) and all(fits(v, args[1] if args else Any) for v in value.values())
    return False   # a type TOML cannot write (a duration, an object)


def describe(hint: Any) -> str:
    """``hint`` in the words of the config file's messages."""
    arms = tuple(a for a in _arms(hint) if a is not timedelta) or _arms(hint)
    if len(arms) > 1:
        return " or ".join(describe(a) for a in arms)
    hint = arms[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return f"a list of {len(args)} " + _plural(args[0])
    if origin in (tuple, list, collections.abc.Iterable, collections.abc.Sequence):
        return "a list of " + _plural(args[0] if args else Any)
    if origin in (dict, collections.abc.Mapping):
        return "a table of " + _plural(args[1] if args else Any)
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(hint, "a value")


def _plural(hint: Any) -> str:
    words = describe(hint)
    for one, many in (("a whole number", "whole numbers"), ("a number", "numbers"), ("a string", "strings"),
                      ("true or false", "true/false values")):
        if words == one:
            return many
    return words.replace("a list of", "lists of").replace("a table of", "tables of")
