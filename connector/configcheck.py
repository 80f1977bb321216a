"""What the config file may say outside ``[sources.*]``: every table, key and value type, checked
before any object is built.

A key nobody reads is an error, not a silent default: ``basepath`` for ``base_path`` would file
the archive into another deployment's folder, ``[stat]`` for ``[state]`` would open a new empty
ledger. So every unknown key or table is refused with the closest known name::

    [repository] basepath: unknown key (did you mean base_path?)
    [permissions] restricted_readers: expected a list of strings, not "GROUP_records"

Source tables are only required to be tables here; their keys and types come from the source's
constructor (``connector.sources.options``, called by the loader).
"""
from __future__ import annotations

import difflib
import json
from dataclasses import fields
from typing import Any, Callable

from .errors import ConfigError
from .http import Settings as HttpSettings

# A value type: its name in messages, and the test a TOML value must pass.
Kind = tuple[str, Callable[[Any], bool]]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TEXT: Kind = ("a string", lambda v: isinstance(v, str))
FLAG: Kind = ("true or false", lambda v: isinstance(v, bool))
NUMBER: Kind = ("a number", _number)
INTEGER: Kind = ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
TEXTS: Kind = ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v))
TEXT_TABLE: Kind = ("a table of strings", lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()))
FLAG_OR_PATH: Kind = ("true, false or a CA bundle path", lambda v: isinstance(v, (bool, str)))
RM_MODE: Kind = ('"auto", "on" or "off"', lambda v: isinstance(v, str) and v in ("auto", "on", "off"))
BINDING: Kind = ('"browser" or "atompub"', lambda v: isinstance(v, str) and v in ("browser", "atompub"))

# table -> key -> kind. A secret (password, tsa_password) is never a key: only <key>_env or <key>_file.
TABLES: dict[str, dict[str, Kind]] = {
    "repository": {"url": TEXT, "repository_id": TEXT, "username": TEXT, "password_env": TEXT,
                   "password_file": TEXT, "profile": TEXT, "base_path": TEXT, "verify_tls": FLAG_OR_PATH,
                   "timeout": NUMBER, "binding": BINDING},
    "permissions": {"archive_admins": TEXTS, "restricted_readers": TEXTS, "public_readers": TEXTS,
                    "principals": TEXT_TABLE},
    "state": {"ledger": TEXT, "audit_log": TEXT},
    "mapping": {"file": TEXT},
    "http": {f.name: INTEGER if f.type in (int, "int") else NUMBER for f in fields(HttpSettings)},
    "compliance": {"classification": TEXT, "cmis_rm": RM_MODE, "file_audit_log": FLAG, "tsa_url": TEXT,
                   "tsa_ca_file": TEXT, "tsa_username": TEXT, "tsa_password_env": TEXT, "tsa_password_file": TEXT,
                   "tsa_timeout": NUMBER, "organization": TEXT},
}
SECRETS = ("password", "tsa_password")


def check(data: dict[str, Any]) -> None:
    """Raise ConfigError for the first unknown table or key, or value of the wrong type."""
    for name, table in data.items():
        if name == "sources":
            _check_sources(table)
            continue
        if name not in TABLES:
            what = f"[{name}]: unknown table" if isinstance(table, dict) else f"{name}: unknown key"
            raise ConfigError(what + _did_you_mean(name, [*TABLES, "sources"]))
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: expected a table ([{name}]), not {_shown(table)}")
        schema = TABLES[name]
        for key, value in table.items():
            if key not in schema:
                if key in SECRETS and f"{key}_env" in schema:
                    raise ConfigError(f"[{name}] {key}: secrets are not read from the config file; "
                                      f"use {key}_env (an environment variable) or {key}_file")
                raise ConfigError(f"[{name}] {key}: unknown key{_did_you_mean(key, schema)}")
            expected, fits = schema[key]
            if not fits(value):
                if schema[key] is TEXT_TABLE and isinstance(value, dict):
                    entry, bad = next((k, v) for k, v in value.items() if not isinstance(v, str))
                    raise ConfigError(f"[{name}.{key}] {entry}: expected a string, not {_shown(bad)}")
                raise ConfigError(f"[{name}] {key}: expected {expected}, not {_shown(value)}")


def _check_sources(sources: Any) -> None:
    if not isinstance(sources, dict):
        raise ConfigError(f"sources: expected tables ([sources.<name>]), not {_shown(sources)}")
    for name, table in sources.items():
        if not isinstance(table, dict):
            raise ConfigError(f"sources.{name}: expected a table ([sources.{name}]), not {_shown(table)}")
        if "type" in table and not isinstance(table["type"], str):
            raise ConfigError(f"[sources.{name}] type: expected a string, not {_shown(table['type'])}")


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"


def _shown(value: Any) -> str:
    """A value as TOML writes it (strings quoted, lists in brackets), a table as "a table"."""
    return "a table" if isinstance(value, dict) else json.dumps(value, ensure_ascii=False, default=str)
