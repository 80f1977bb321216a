"""Configuration: one TOML file, secrets only from the environment or files, validated with
errors that say which key is wrong (every table is checked first, key by key and type by type:
by ``connector.configcheck``, a source's table by ``connector.sources.options``; the mapping and
classification files must be readable TOML).

Example ``socialarchive.toml``::

    [repository]
    url = "http://127.0.0.1:8090/inmemory/browser"
    repository_id = "A1"
    profile = "opencmis-inmemory"
    # binding = "atompub"                    # with url = ".../atom11": no Browser binding (check says)
    username = "admin"
    password_env = "SA_CMIS_PASSWORD"        # or password_file = "/run/secrets/cmis"

    [permissions]
    archive_admins = ["admin"]              # full control on every archived object
    restricted_readers = ["GROUP_records"]  # may read restricted content
    # public_readers defaults to the repository's "anyone" principal
    [permissions.principals]                # source principal -> ECM principal, explicit only
    "wiki:group:sysop" = "GROUP_wiki_admins"

    [sources.wiki]
    type = "mediawiki"
    api_url = "http://127.0.0.1:8081/api.php"
    username = "Admin@connector"
    password_file = "botpassword"

An optional ``[http]`` table tunes retries, backoff, timeouts and the response-size cap for the
whole process (``connector.http.Settings``; e.g. ``max_response_mb = 64``, ``backoff_max = 60``);
loading the config applies it.

Relative paths are read relative to the config file. A key named like a secret (password,
api_key, app_password, token, secret) with a literal value is refused: use ``<key>_env`` or
``<key>_file``.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .configcheck import check as check_tables
from .errors import ConfigError
from .http import configure as configure_http
from .sources.options import check as check_source
from .sources.registry import SOURCES

SECRET_KEYS = {"password", "api_key", "app_password", "token", "secret"}
# Principals that mean "everybody" on some repository (CMIS, OpenCMIS, Alfresco, Nuxeo), compared
# case-insensitively; connector.access adds the repository's own anyone/anonymous ids at run time.
WORLD_PRINCIPALS = frozenset({"anyone", "cmis:anyone", "anonymous", "cmis:anonymous", "guest", "everyone",
                              "group_everyone", "*"})
DEFAULT_CONFIG = "socialarchive.toml"


@dataclass
class RepositoryConfig:
    url: str
    repository_id: str
    username: str
    password: str = field(repr=False)
    profile: str = "opencmis-inmemory"
    base_path: str = "/socialarchive"
    verify_tls: bool | str = True
    timeout: float = 300.0
    binding: str = "browser"   # "atompub" for repositories without the Browser binding (connector.cmis.bindings)


@dataclass
class PermissionsConfig:
    archive_admins: list[str]
    restricted_readers: list[str]
    public_readers: list[str] | None = None
    principals: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceConfig:
    name: str
    type: str
    options: dict[str, Any] = field(repr=False)


@dataclass
class Config:
    path: str
    repository: RepositoryConfig
    permissions: PermissionsConfig
    sources: dict[str, SourceConfig]
    ledger_path: str
    audit_path: str
    mapping_path: str
    classification_path: str   # [compliance] classification, next to the config; else the shipped rules
    fingerprint: str
    compliance: dict[str, Any] = field(default_factory=dict)  # [compliance], read by connector.compliance

    def check_sources(self, names, archived: set[str] = frozenset()) -> None:
        """Refuse a source name the config does not define (nor, when given, the ``archived``
        names: sources with records, perhaps retired), naming the ones it does: a typo in
        ``--source`` would otherwise select nothing and report success on it."""
        unknown = sorted(set(names) - set(self.sources) - archived)
        if unknown:
            known = "configured: " + (", ".join(sorted(self.sources)) or "none")
            retired = sorted(archived - set(self.sources))
            if retired:
                known += "; archived, no longer configured: " + ", ".join(retired)
            raise ConfigError(f"no source named {', '.join(unknown)} in {self.path} ({known})")


def load(path: str | None = None) -> Config:
    path = path or os.environ.get("SOCIALARCHIVE_CONFIG") or DEFAULT_CONFIG
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    check_tables(data)
    base = os.path.dirname(os.path.abspath(path))
    resolve = _Resolver(base, path)

    repo = _table(data, "repository", path)
    repository = RepositoryConfig(
        url=_required(repo, "url", "repository"), repository_id=_required(repo, "repository_id", "repository"),
        username=_required(repo, "username", "repository"),
        password=resolve.secret(repo, "password", "repository"),
        profile=repo.get("profile", "opencmis-inmemory"), base_path=repo.get("base_path", "/socialarchive"),
        verify_tls=resolve.tls(repo.get("verify_tls", True)), timeout=float(repo.get("timeout", 300)),
        binding=repo.get("binding", "browser"))

    perms = data.get("permissions", {})
    permissions = PermissionsConfig(
        archive_admins=list(perms.get("archive_admins", [repository.username])),
        restricted_readers=list(perms.get("restricted_readers", [])),
        public_readers=list(perms["public_readers"]) if "public_readers" in perms else None,
        principals=dict(perms.get("principals", {})))
    check_no_world(permissions, WORLD_PRINCIPALS)

    sources = {}
    for name, table in data.get("sources", {}).items():
        if "type" not in table:
            raise ConfigError(f"{path}: [sources.{name}] needs a type ({', '.join(SOURCES)})")
        options = resolve.options({k: v for k, v in table.items() if k != "type"}, f"sources.{name}")
        check_source(name, table["type"], options, complete=False)
        sources[name] = SourceConfig(name=name, type=table["type"], options=options)

    configure_http(data.get("http", {}))
    state = data.get("state", {})
    ledger_path = resolve.path(state.get("ledger", ".state/ledger.sqlite"))
    mapping_path = resolve.path(data.get("mapping", {}).get("file", shipped_mapping("default.toml")))
    compliance = dict(data.get("compliance", {}))
    classification = compliance.get("classification")
    classification_path = resolve.path(classification) if classification else shipped_mapping("classification.toml")
    _rules_file(mapping_path, "[mapping] file")
    _rules_file(classification_path, "[compliance] classification")
    return Config(
        path=os.path.abspath(path), repository=repository, permissions=permissions, sources=sources,
        ledger_path=ledger_path,
        audit_path=resolve.path(state.get("audit_log", os.path.join(os.path.dirname(ledger_path), "audit.jsonl"))),
        mapping_path=mapping_path, classification_path=classification_path, compliance=compliance,
        fingerprint=fingerprint({"config": raw, "mapping": mapping_path, "classification": classification_path}))


def fingerprint(files: dict[str, bytes | str]) -> str:
    """The digest of everything a run loads (recorded in its 'run' audit entry, the procedure
    documentation and every export), so a changed rule shows as a changed digest.

    It is the SHA-256 of one line ``<role> <SHA-256 of the file>`` per file, in the order given
    (config, mapping, classification rules); ``files`` maps a role to the file's bytes or path. A
    file that cannot be read counts as ``unreadable``: its own loader says why, when it is needed.

    >>> fingerprint({"config": b""}) == hashlib.sha256(
    ...     b"config e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\\n").hexdigest()
    True
    """
    lines = []
    for role, file in files.items():
        if isinstance(file, bytes):
            digest = hashlib.sha256(file).hexdigest()
        else:
            try:
                with open(file, "rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
            except OSError:
                digest = "unreadable"
        lines.append(f"{role} {digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def check_no_world(permissions: PermissionsConfig, world: frozenset[str] | set[str]) -> None:
    """Refuse a config that grants restricted content (or control) to everybody: a world principal
    as an archive admin, a restricted reader or a mapped principal. Only public_readers may name one."""
    world = {p.casefold() for p in world}
    problems = []
    for where, principals in (("archive_admins", permissions.archive_admins),
                              ("restricted_readers", permissions.restricted_readers)):
        leaked = sorted(p for p in principals if p.casefold() in world)
        if leaked:
            problems.append(f"{where} names {', '.join(leaked)}")
    mapped = sorted(f"{src} -> {ecm}" for src, ecm in permissions.principals.items() if ecm.casefold() in world)
    if mapped:
        problems.append(f"[permissions.principals] maps {', '.join(mapped)}")
    if problems:
        raise ConfigError("[permissions] " + "; ".join(problems) + ": a principal that means everybody would make "
                          "restricted content world-readable; only public_readers may name one")


def shipped_mapping(name: str) -> str:
    """A rules file shipped with the connector: ``mappings/`` of the checkout (or an editable
    install), else ``<prefix>/share/socialarchive/mappings`` (where ``pip install .`` puts it)."""
    checkout = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mappings", name)
    installed = os.path.join(sys.prefix, "share", "socialarchive", "mappings", name)
    return checkout if os.path.exists(checkout) or not os.path.exists(installed) else installed


def _rules_file(path: str, where: str) -> None:
    """A rules file the config names (or the shipped one) must be readable TOML when the config
    loads: a missing or broken one would otherwise stop only the commands that read it, midway."""
    try:
        with open(path, "rb") as fh:
            tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: {path} is not valid TOML: {exc}") from None


def _table(data: dict, name: str, path: str) -> dict:
    if name not in data:
        raise ConfigError(f"{path}: missing [{name}] table")
    return data[name]


def _required(table: dict, key: str, where: str) -> str:
    if key not in table:
        raise ConfigError(f"[{where}] needs {key}")
    return table[key]


class _Resolver:
    def __init__(self, base: str, path: str):
        self.base, self.file = base, path

    def path(self, value: str) -> str:
        return value if os.path.isabs(value) else os.path.join(self.base, value)

    def tls(self, value: bool | str) -> bool | str:
        return self.path(value) if isinstance(value, str) else bool(value)

    def secret(self, table: dict, key: str, where: str, required: bool = True) -> str:
        if key in table:
            raise ConfigError(f"[{where}] {key}: secrets are not read from the config file; "
                              f"use {key}_env (an environment variable) or {key}_file")
        if f"{key}_env" in table:
            var = table[f"{key}_env"]
            if var not in os.environ:
                raise ConfigError(f"[{where}] {key}_env: environment variable {var} is not set")
            return os.environ[var]
        if f"{key}_file" in table:
            secret_path = self.path(table[f"{key}_file"])
            try:
                with open(secret_path, encoding="utf-8") as fh:
                    return fh.read().strip()
            except OSError as exc:
                raise ConfigError(f"[{where}] {key}_file: cannot read {secret_path}: {exc.strerror}") from None
        if required:
            raise ConfigError(f"[{where}] needs {key}_env or {key}_file")
        return ""

    def options(self, table: dict, where: str) -> dict:
        out = {}
        for key, value in table.items():
            stem = key.rsplit("_", 1)[0] if key.endswith(("_env", "_file")) else key
            if stem in SECRET_KEYS:
                out[stem] = self.secret(table, stem, where)
            elif key in SECRET_KEYS:
                self.secret(table, key, where)  # raises with the right message
            else:
                out[key] = value
        return out
