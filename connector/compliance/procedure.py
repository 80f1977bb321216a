"""The procedure documentation (Verfahrensdokumentation, GoBD Rz. 151 ff.) in Markdown, generated
from the configuration actually in use: what is archived from where, how it lands in the
repository, who may read it, how long it is kept, how it is protected, checked and handed over.

It needs no server: everything comes from the config, the mapping and classification files, the
schema, the deployment units under ``docker/`` and, if present, the ledger's run history. Generate
it after every configuration change and file it with the other organisational documents (the
digests in the header tie the text to the configuration, mapping and rules a run loads).

Example::

    socialarchive docs procedure --out verfahrensdokumentation.md
"""
from __future__ import annotations

import hashlib
import os
import platform
import re
import sqlite3
import subprocess
from datetime import datetime, timezone
from importlib import metadata

from .. import __version__
from ..cmis import schema
from ..cmis.profiles import profile as load_profile
from ..config import SECRET_KEYS, Config
from ..mapping import Rules
from .classify import ClassRules
from .settings import settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return "(unreadable)"


def _cell(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def _table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _versions() -> list[list[str]]:
    rows = [["socialarchive", __version__], ["Python", platform.python_version()]]
    for dist in ("cmislib", "requests", "click", "tenacity", "lxml"):
        try:
            rows.append([dist, metadata.version(dist)])
        except metadata.PackageNotFoundError:
            rows.append([dist, "not installed"])
    try:
        rows.append(["OpenSSL (timestamps)", subprocess.run(["openssl", "version"], capture_output=True, text=True,
                                                            timeout=10).stdout.strip()])
    except (OSError, subprocess.SubprocessError):
        rows.append(["OpenSSL (timestamps)", "not found"])
    rows.append(["Operating system", f"{platform.system()} {platform.release()}"])
    return rows


def _schedule() -> list[str]:
    units = []
    for directory, pattern, what in (("docker/systemd", r"^OnCalendar=(.+)$", "systemd timer"),
                                     ("docker/k8s", r"^\s*schedule:\s*\"?([^\"\n]+)\"?", "Kubernetes CronJob")):
        folder = os.path.join(ROOT, directory)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            try:
                text = open(path, encoding="utf-8").read()
            except (OSError, UnicodeDecodeError):
                continue
            for match in re.finditer(pattern, text, re.M):
                units.append(f"- {what} `{directory}/{name}`: `{match.group(1).strip()}`")
    if not units:
        return ["No deployment unit with a schedule was found under `docker/`. Runs must be scheduled by the "
                "operator (cron, systemd timer, Kubernetes CronJob) calling `socialarchive sync`; the schedule "
                "must stay well inside each source's change-feed horizon (MediaWiki recentchanges: 90 days)."]
    return ["Incremental runs (`socialarchive sync`) are started by:", "", *units, "",
            "A run still going makes the next one wait (the ledger's run lock; exit code 6). The checkpoint of a "
            "source advances only after a complete run, so a missed or failed run is caught up by the next one."]


def _runs(ledger_path: str, limit: int = 10) -> list[list[str]]:
    if not os.path.exists(ledger_path):
        return []
    try:
        db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
        try:
            return [list(map(lambda v: v or "", row)) for row in db.execute(
                "SELECT run_id, command, started_at, finished_at, outcome FROM runs ORDER BY started_at DESC LIMIT ?",
                (limit,))]
        finally:
            db.close()
    except sqlite3.Error:
        return []


def generate(config: Config, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    conf = settings(config)
    rules = Rules.load(config.mapping_path)
    classes = ClassRules.load(conf.classification_path)
    prof = load_profile(config.repository.profile)
    rc, perms = config.repository, config.permissions
    out: list[str] = []
    add = out.append

    add("# Verfahrensdokumentation: Archivierung von Wikis, Blogs und Foren (socialarchive)")
    add("")
    add(f"Generated {now.strftime('%Y-%m-%d %H:%M UTC')} by socialarchive {__version__} from the configuration "
        "below. Regenerate after every change of configuration, mapping or rules, and keep every edition.")
    add("")
    out.extend(_table(["document", "path", "SHA-256"], [
        ["configuration", config.path, _sha256(config.path)],
        ["mapping rules", config.mapping_path, _sha256(config.mapping_path)],
        ["classification rules", conf.classification_path, _sha256(conf.classification_path)],
        ["all three (the config digest of every run, audit entry 'run')", "", config.fingerprint]]))
    add("")

    add("## 1. Purpose and principles")
    add("")
    add("The connector copies the content of the systems listed in section 2 — every revision, comment, reply, "
        "file, author, timestamp and permission — into the CMIS repository of section 3. It archives, it does "
        "not synchronise: nothing archived is ever overwritten or deleted by it. An edit in a source becomes a new "
        "version; a deletion becomes a deletion record (tombstone). Legal holds and processing restrictions are "
        "added as metadata events; content is never changed. The repository's own retention and WORM functions, "
        "not the connector, make the archive tamper-proof; the connector supplies completeness, integrity evidence "
        "(SHA-256 per version, hash-chained audit log) and the audit trail.")
    add("")

    add("## 2. Sources and scope")
    add("")
    rows = []
    for name, src in sorted(config.sources.items()):
        scope = {k: v for k, v in src.options.items() if k not in SECRET_KEYS and not k.endswith(("_env", "_file"))}
        rows.append([name, src.type, "; ".join(f"{k} = {v}" for k, v in sorted(scope.items()))])
    out.extend(_table(["source", "system", "scope and options (secrets omitted)"], rows) if rows
               else ["No source is configured."])
    add("")
    add("Each source is read through its API as the configured account sees it. What that account cannot read is "
        "not archived; its permissions define the scope as much as the options above.")
    add("")

    add("## 3. Repository and storage")
    add("")
    out.extend(_table(["setting", "value"], [
        ["CMIS endpoint (Browser binding)", rc.url], ["repository id", rc.repository_id],
        ["repository profile", prof.name], ["base folder", rc.base_path],
        ["document type / metadata type", f"{prof.document_type} / {prof.secondary_type}"],
        ["types created by the connector", "yes (createType)" if prof.create_types else "no: deploy the content model (docker/alfresco)"],
        ["CMIS records-management types", {"auto": "used where the repository defines them (probed at every run)",
                                           "on": "always used", "off": "not used"}.get(conf.cmis_rm, conf.cmis_rm)],
        ["ledger (local state)", config.ledger_path], ["audit log", config.audit_path]]))
    add("")

    add("## 4. Mapping: folders, names, properties")
    add("")
    add(f"- Default folder: `{rules.default_folder}` below the base folder; per kind:")
    for kind, template in sorted(rules.kind_folders.items()):
        add(f"  - {kind}: `{template}`")
    add("- Name: `Title [native id]` plus an extension by media type "
        f"({', '.join(f'{k} → {v}' for k, v in sorted(rules.extensions.items())) or 'none'}); forbidden characters "
        "become `_`; the original title is kept in `sa:title`.")
    add("- One document per source item, one version per source revision, oldest first, holding the original "
        "markup or file byte-exact. Audit-log segments are filed under `_audit/<year>`.")
    add("")
    add("Mapped properties:")
    add("")
    out.extend(_table(["property", "from item field"], sorted(rules.item_properties.items())))
    add("")
    out.extend(_table(["property", "from revision field"], sorted(rules.revision_properties.items())))
    add("")
    add(f"All metadata properties (secondary type `{prof.secondary_type}`):")
    add("")
    out.extend(_table(["property", "type", "meaning"],
                      [[p.id, p.type + (" (multi)" if p.multi else ""), p.description] for p in schema.ARCHIVE_PROPERTIES]))
    add("")

    add("## 5. Permissions")
    add("")
    add("Permissions fail closed. Every document gets the archive admins with full control; content the source "
        "shows to anonymous users gets the public readers with read access; everything else gets the restricted "
        "readers plus the principals mapped explicitly below. An unmapped source principal adds nobody. The "
        "repository's default world ACE is always removed.")
    add("")
    out.extend(_table(["role", "principals"], [
        ["archive admins (cmis:all)", perms.archive_admins], ["restricted readers (cmis:read)", perms.restricted_readers],
        ["public readers (cmis:read)", perms.public_readers if perms.public_readers is not None else ["the repository's `anyone`"]]]))
    add("")
    if perms.principals:
        out.extend(_table(["source principal", "repository principal"], sorted(perms.principals.items())))
    else:
        add("No source principal is mapped: restricted content is readable by admins and restricted readers only.")
    add("")

    add("## 6. Record classes and retention")
    add("")
    add(f"Rules file: `{classes.path}`. Every version gets `sa:recordClass`, `sa:classRule` and `sa:retainUntil` = "
        f"31 December (23:59:59, time zone {getattr(classes.zone, 'key', 'UTC')}) of the year the version was created "
        "+ the class's years; the period starts at the end of that calendar year. Where the repository defines "
        "`cmis:rm_clientMgtRetention`, `cmis:rm_expirationDate` and `cmis:rm_startOfRetention` are set as well and "
        "the repository enforces them. The connector never deletes anything when a period ends: disposition is "
        "decided in the repository, after checking that no tax assessment period is still open (§147(3) AO) and "
        "that no legal hold applies.")
    add("")
    out.extend(_table(["class", "years", "preset", "description"],
                      [[c.name, c.years, c.preset or "custom", c.description] for c in classes.classes.values()]))
    add("")
    add("Rules, first match wins:")
    add("")
    out.extend(_table(["#", "rule", "conditions", "class"],
                      [[n, r.name, r.describe(), r.record_class] for n, r in enumerate(classes.rules, 1)]))
    add("")
    add(f"A version matching no rule gets the default class **{classes.default_class}** with `sa:classRule = "
        "'default'`, and the source is logged; review them with "
        f"`SELECT * FROM {prof.secondary_type} WHERE sa:classRule = 'default'`.")
    add("")
    scanner = classes.scanner
    add("### Sensitive data")
    add("")
    add(f"The text of every version (markup and JSON; first {scanner.max_bytes} bytes) is scanned by: "
        f"{', '.join(scanner.names) or 'no detector'}. IBANs are checked against ISO 13616 (length and mod 97), "
        "card numbers by issuer prefix and Luhn digit. Matches are recorded by detector name in `sa:sensitive` "
        "(never the value). " + (f"A match of {', '.join(scanner.restrict)} restricts the whole record to admins "
                                 "and restricted readers." if scanner.restrict else "Matches are flagged only; the ACL "
                                                                                    "is not changed."))
    add("")

    add("## 7. Integrity and audit trail")
    add("")
    add("- The SHA-256 of every content stream is computed while it is uploaded and sent in the same request; the "
        "repository's echo of hash and length is compared before the ledger records the version. A source's own "
        "digest (MediaWiki SHA-1) is checked on the way; a mismatch quarantines the item.")
    add("- Every write, hold, restriction, verification and export is an entry of the append-only audit log "
        f"(`{config.audit_path}`); each entry carries the SHA-256 of the previous one, so an edited, removed or "
        "reordered entry breaks the chain.")
    add("- " + ("After every `sync`, the audit entries not yet filed are filed into the repository as a JSON Lines "
                "document under `_audit/<year>` (also `socialarchive audit file`)." if conf.file_audit_log else
                "Audit entries are filed into the repository by `socialarchive audit file` (not automatically: "
                "`file_audit_log = false`)."))
    add("")

    add("## 8. Schedule")
    add("")
    out.extend(_schedule())
    add("")

    add("## 9. Verification")
    add("")
    add("`socialarchive verify [--source S] [--sample N] [--json]` streams every version (or N random versions) back "
        "from the repository, recomputes its SHA-256 and compares it with the `sa:sha256` property and with the "
        "ledger; checks the audit log's chain; compares every audit segment filed in the repository with the local "
        "log. Any mismatch is reported and the command exits with code 7. Recommended: a full check monthly, a "
        "sample after every run. Each check is itself an audit entry.")
    add("")

    add("## 10. Legal holds and data subjects")
    add("")
    add("- `socialarchive hold add MATTER (--query WORDS | --source S [--since D] [--until D])` puts the matter's id "
        "into `sa:holdIds` (and `cmis:rm_holdIds` where supported) of every version of the matching records; new "
        "versions and newly filed matching records get it too. `hold remove MATTER` releases it; `hold list` shows "
        "all holds. Each step is audited with the operating-system user.")
    add("- `socialarchive subject find USER` lists what a person created or revised; `subject restrict USER` "
        "restricts its processing (GDPR Art. 18, BDSG §35(3)) while retention runs: `sa:restricted = true` on every "
        "version, the ACL narrowed to admins and restricted readers, and later content of the person restricted "
        "too. Nothing is erased by the connector.")
    add("")

    add("## 11. Export for auditors (Datenzugriff Z3)")
    add("")
    add("`socialarchive export (--matter M | --source S --since D --until D) --out DIR` writes a BagIt bag "
        "(RFC 8493): the original content of every version, per-record metadata JSON (all properties, ACL, folders), "
        "an index (CSV) and the audit-log entries about the exported records. " +
        (f"The tag manifest is timestamped (RFC 3161) by `{conf.tsa_url}`; the token is stored as "
         "`tagmanifest-sha256.txt.tsr` and verifies with `openssl ts -verify`." if conf.tsa_url else
         "No timestamp authority is configured (`[compliance] tsa_url`): bags are not timestamped."))
    add("")

    add("## 12. Software")
    add("")
    out.extend(_table(["component", "version"], _versions()))
    add("")
    runs = _runs(config.ledger_path)
    if runs:
        add("## 13. Recent runs")
        add("")
        out.extend(_table(["run", "command", "started", "finished", "outcome"], runs))
        add("")
    return "\n".join(out).rstrip() + "\n"
