"""The procedure documentation (Verfahrensdokumentation, GoBD Rz. 151 ff.) in Markdown, generated
from the configuration actually in use: what is archived from where, how it lands in the
repository, who may read it, how long it is kept, how it is protected, checked and handed over.

It describes this deployment, never the shipped examples: the sources, repository, base folder,
mapping and classification files and permissions of the loaded config (addresses without
credentials, secrets never), the schedule the config declares (``sync_every_minutes``) and the
one the ledger observed, and the holds and runs the ledger records. It needs no server. One
language per document (``--lang en|de``; the wording is in ``procedure_text``). Generate it after
every configuration change and file it with the other organisational documents (the digests in
the header tie the text to the configuration, mapping and rules a run loads).

Example::

    socialarchive docs procedure --lang de --out verfahrensdokumentation.md
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .. import __version__
from ..cmis import schema
from ..cmis.profiles import profile as load_profile
from ..config import SECRET_KEYS, Config, shipped_mapping
from ..store import peek
from ..mapping import Rules
from ..sources import SWEEP_OPTIONS
from .classify import ClassRules
from .procedure_text import PROPERTIES_DE, TEXT
from .settings import settings

LANGUAGES = ("en", "de")
# Commands that take the ledger's run lock (connector.runlock.take_lock through Archive.open with
# lock=True); every other command runs alongside. A test holds the lock and runs every command.
LOCKING = ("sync", "backfill", "quarantine retry", "ledger rebuild", "hold add", "hold remove", "verify",
           "reclassify", "export", "audit file", "subject find", "subject restrict")
NOT_LOCKING = ("check", "status", "search", "report", "plan", "quarantine list", "hold list", "docs")
# Query parameters and option names that may carry a credential: never printed.
_SECRET_HINTS = (*SECRET_KEYS, "key", "auth", "sig", "session")


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return "(unreadable)"


def _cell(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def _table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def public_url(url: str) -> str:
    """A URL as the document may show it: no user or password, no secret-looking query value.

    >>> public_url("https://bot:s3cret@wiki.example/api.php?token=abc&x=1")
    'https://wiki.example/api.php?x=1'
    """
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "(not a valid URL)"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not any(h in k.lower() for h in _SECRET_HINTS)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _is_secret(key: str) -> bool:
    stem = key.rsplit("_", 1)[0] if key.endswith(("_env", "_file")) else key
    return stem in SECRET_KEYS or key in SECRET_KEYS


def _source_rows(config: Config) -> list[list[str]]:
    rows = []
    for name, src in sorted(config.sources.items()):
        opts = {k: v for k, v in src.options.items() if not _is_secret(k) and k not in SWEEP_OPTIONS}
        urls = [public_url(v) for k, v in sorted(opts.items()) if k.endswith("url")]
        account = opts.get("username") or opts.get("api_username") or "–"
        rest = {k: v for k, v in opts.items() if not k.endswith("url") and k not in ("username", "api_username")}
        rows.append([name, src.type, urls or "–", account,
                     "; ".join(f"{k} = {_cell(v)}" for k, v in sorted(rest.items())) or "–"])
    return rows


def _file_label(path: str, shipped: str, t: dict) -> str:
    return path + (t["shipped"] if os.path.abspath(path) == os.path.abspath(shipped) else "")


def _versions(t: dict) -> list[list[str]]:
    rows = [["socialarchive", __version__], ["Python", platform.python_version()]]
    for dist in ("cmislib", "requests", "click", "tenacity", "lxml"):
        try:
            rows.append([dist, metadata.version(dist)])
        except metadata.PackageNotFoundError:
            rows.append([dist, t["not_installed"]])
    try:
        rows.append(["OpenSSL", subprocess.run(["openssl", "version"], capture_output=True, text=True,
                                               timeout=10).stdout.strip()])
    except (OSError, subprocess.SubprocessError):
        rows.append(["OpenSSL", t["not_found"]])
    rows.append([t["os"], f"{platform.system()} {platform.release()}"])
    return rows


def _interval(seconds: float, lang: str) -> str:
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h" if minutes < 2880 else (f"{minutes / 1440:.1f} " + ("Tage" if lang == "de" else "days"))


def _schedule(config: Config, t: dict, lang: str) -> list[str]:
    declared = {name: src.options["sync_every_minutes"] for name, src in sorted(config.sources.items())
                if "sync_every_minutes" in src.options}
    out = ([t["schedule_declared"], "", *(t["schedule_source"].format(source=n, minutes=m) for n, m in declared.items())]
           if declared else [t["schedule_unknown"]])
    for name in sorted(config.sources):
        starts = peek(config.ledger_path, lambda ledger: ledger.sync_starts(name, 50), [])
        if len(starts) >= 2:
            gaps = [(a - b).total_seconds() for a, b in zip(starts, starts[1:])]
            out += ["", t["schedule_observed"].format(source=name, count=len(starts), last=starts[0].isoformat(),
                                                      interval=_interval(statistics.median(gaps), lang))]
    lock = config.ledger_path + ".lock"
    return [*out, "", t["checkpoint"], "",
            t["lock"].format(commands=_enumerate(LOCKING, t), path=lock, free=_enumerate(NOT_LOCKING, t))]


def _enumerate(commands: tuple[str, ...], t: dict) -> str:
    quoted = [f"`{c}`" for c in commands]
    return ", ".join(quoted[:-1]) + f" {t['and']} " + quoted[-1]


def _holds(config: Config, t: dict) -> list[str]:
    rows = peek(config.ledger_path, lambda ledger: ledger.holds(), [])
    out = [t["holds_now"], "", *_table(t["holds_head"], [[m, p, b, json.dumps(c, sort_keys=True), r or t["holds_active"]]
                                                         for m, p, b, c, _, r, *_ in rows])
           ] if rows else [t["no_holds"]]
    restricted = peek(config.ledger_path, lambda ledger: len(ledger.restricted_subjects()), 0)
    return [*out, "", t["restrictions_now"].format(count=restricted)]


def generate(config: Config, now: datetime | None = None, lang: str = "en") -> str:
    """The document for ``config`` in ``lang`` (en or de)."""
    t = TEXT[lang]
    now = now or datetime.now(timezone.utc)
    conf = settings(config)
    rules = Rules.load(config.mapping_path)
    classes = ClassRules.load(conf.classification_path)
    prof = load_profile(config.repository.profile)
    rc, perms = config.repository, config.permissions
    out: list[str] = []
    add = out.append

    add(t["title"])
    add("")
    add(t["generated"].format(when=now.strftime("%Y-%m-%d %H:%M UTC"), version=__version__))
    add("")
    out.extend(_table(t["docs_head"], [
        [t["doc_config"], config.path, _sha256(config.path)],
        [t["doc_mapping"], _file_label(config.mapping_path, shipped_mapping("default.toml"), t),
         _sha256(config.mapping_path)],
        [t["doc_classes"], _file_label(conf.classification_path, shipped_mapping("classification.toml"), t),
         _sha256(conf.classification_path)],
        [t["doc_all"], "", config.fingerprint]]))
    add("")

    add(t["h_purpose"])
    add("")
    add(t["purpose"])
    add("")

    add(t["h_sources"])
    add("")
    rows = _source_rows(config)
    out.extend(_table(t["sources_head"], rows) if rows else [t["no_sources"]])
    add("")
    add(t["sources_note"])
    add("")

    add(t["h_repository"])
    add("")
    out.extend(_table(t["setting_head"], [
        [t["repo_url"], public_url(rc.url)], [t["repo_id"], rc.repository_id], [t["repo_user"], rc.username],
        [t["repo_profile"], prof.name], [t["repo_base"], rc.base_path],
        [t["repo_types"], f"{prof.document_type} / {prof.secondary_type}"],
        [t["repo_create"], t["create_yes"] if prof.create_types else t["create_no"]],
        [t["repo_rm"], t.get(f"rm_{conf.cmis_rm}", conf.cmis_rm)],
        [t["repo_ledger"], config.ledger_path], [t["repo_audit"], config.audit_path]]))
    add("")

    add(t["h_mapping"])
    add("")
    add(t["mapping_file"].format(path=config.mapping_path))
    add("")
    add(t["default_folder"].format(folder=rules.default_folder, base=rc.base_path))
    for kind, template in sorted(rules.kind_folders.items()):
        add(f"  - {kind}: `{template}`")
    add(t["names"].format(extensions=", ".join(f"{k} → {v}" for k, v in sorted(rules.extensions.items())) or t["none"]))
    add(t["versions"].format(base=rc.base_path.rstrip("/")))
    add("")
    add(t["mapped"])
    add("")
    out.extend(_table(t["item_head"], sorted(rules.item_properties.items())))
    add("")
    out.extend(_table(t["revision_head"], sorted(rules.revision_properties.items())))
    add("")
    add(t["all_props"].format(type=prof.secondary_type))
    add("")
    meaning = (lambda p: PROPERTIES_DE.get(p.id, "")) if lang == "de" else (lambda p: p.description)
    out.extend(_table(t["props_head"], [[p.id, p.type + (t["multi"] if p.multi else ""), meaning(p)]
                                        for p in schema.ARCHIVE_PROPERTIES]))
    add("")

    add(t["h_permissions"])
    add("")
    add(t["permissions"])
    add("")
    out.extend(_table(t["roles_head"], [
        [t["role_admins"], perms.archive_admins], [t["role_restricted"], perms.restricted_readers],
        [t["role_public"], perms.public_readers if perms.public_readers is not None else [t["anyone"]]]]))
    add("")
    if perms.principals:
        out.extend(_table(t["principals_head"], sorted(perms.principals.items())))
    else:
        add(t["no_principals"])
    add("")

    add(t["h_retention"])
    add("")
    add(t["retention"].format(path=classes.path, zone=getattr(classes.zone, "key", "UTC")))
    add("")
    out.extend(_table(t["classes_head"], [[c.name, c.years, c.preset or t["custom"], c.description]
                                          for c in classes.classes.values()]))
    add("")
    add(t["rules"])
    add("")
    out.extend(_table(t["rules_head"], [[n, r.name, r.describe(), r.record_class]
                                        for n, r in enumerate(classes.rules, 1)]))
    add("")
    add(t["default_class"].format(name=classes.default_class, type=prof.secondary_type))
    add("")
    scanner = classes.scanner
    add(t["h_sensitive"])
    add("")
    add(t["sensitive"].format(bytes=scanner.max_bytes, names=", ".join(scanner.names) or t["no_detector"]) + " "
        + (t["restricts"].format(names=", ".join(scanner.restrict)) if scanner.restrict else t["flags_only"]))
    add("")

    add(t["h_holds"])
    add("")
    add(t["holds"])
    add(t["subjects"])
    add("")
    out.extend(_holds(config, t))
    add("")

    add(t["h_integrity"])
    add("")
    add(t["integrity"])
    add(t["audit"].format(path=config.audit_path))
    add(t["audit_filed"].format(base=rc.base_path.rstrip("/")) if conf.file_audit_log else t["audit_manual"])
    add("")

    add(t["h_schedule"])
    add("")
    out.extend(_schedule(config, t, lang))
    add("")

    add(t["h_verify"])
    add("")
    add(t["verify"])
    add("")

    add(t["h_export"])
    add("")
    add(t["export"] + " " + (t["tsa"].format(url=public_url(conf.tsa_url)) if conf.tsa_url else t["no_tsa"]))
    add("")

    add(t["h_software"])
    add("")
    out.extend(_table(t["software_head"], _versions(t)))
    add("")
    runs = peek(config.ledger_path, lambda ledger: ledger.recent_runs(10), [])
    if runs:
        add(t["h_runs"])
        add("")
        out.extend(_table(t["runs_head"], [[v or "" for v in row] for row in runs]))
        add("")
    return "\n".join(out).rstrip() + "\n"
