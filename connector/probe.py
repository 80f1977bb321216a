"""``socialarchive check``: probe the repository and every configured source, report each, one exit code.

Every system is probed even when another failed: with the repository down, the sources are still
asked, so one run of ``check`` tells IT everything that is wrong. Each failure is classified by
``connector.exitcodes.for_error`` like the same failure in ``sync``: an unreachable system (or a
host name that does not resolve) is 4, refused credentials or grants 5, a configuration the
repository shows to be wrong (a world principal in ``[permissions]``) 2. The command exits with the
most severe of them (``exitcodes.worst``).

Example (repository down, one wiki up)::

    repository http://127.0.0.1:9/browser: UNAVAILABLE: cannot reach ...
    source wiki (mediawiki): api_url=..., sitename=..., ...
    -> exit 4
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .access import AccessPolicy
from .cmis.bindings import open_repository, report as bindings
from .cmis.profiles import profile
from .cmis.typedefs import deploy_hint, profile_hint, type_status
from .config import Config
from .errors import ConnectorError
from .exitcodes import ExitCode, for_error, worst
from .http import safe_url
from .sources import Source

# How a failed probe is labelled in the text output, by the exit code its error maps to.
LABEL = {ExitCode.UNAVAILABLE: "UNAVAILABLE", ExitCode.FATAL: "REFUSED", ExitCode.USAGE: "CONFIGURATION ERROR"}


@dataclass
class Probe:
    """What ``check`` prints (``lines``, or ``found`` as JSON) and exits with (``code``)."""

    found: dict[str, Any] = field(default_factory=lambda: {"repository": {}, "sources": []})
    lines: list[str] = field(default_factory=list)
    codes: list[ExitCode] = field(default_factory=list)

    @property
    def code(self) -> ExitCode:
        return worst(self.codes)

    def failed(self, exc: ConnectorError) -> tuple[ExitCode, str]:
        code = for_error(exc)
        self.codes.append(code)
        return code, f"{LABEL.get(code, 'FAILED')}: {exc}"


def probe(cfg: Config, sources: Iterable[Source]) -> Probe:
    result = Probe()
    try:
        _repository(cfg, result)
    except ConnectorError as exc:
        code, text = result.failed(exc)
        result.found["repository"] = {"ok": False, "url": safe_url(cfg.repository.url), "exit_code": int(code),
                                      "error": str(exc)}
        result.lines = [f"repository {safe_url(cfg.repository.url)}: {text}"]
    for source in sources:
        try:
            facts = source.check()
        except ConnectorError as exc:
            code, text = result.failed(exc)
            result.found["sources"].append({"source": source.name, "system": source.system, "ok": False,
                                            "exit_code": int(code), "error": str(exc)})
            result.lines.append(f"source {source.name} ({source.system}): {text}")
            continue
        result.found["sources"].append({"source": source.name, "system": source.system, "ok": True, "facts": facts})
        result.lines.append(f"source {source.name} ({source.system}): " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    return result


def _repository(cfg: Config, result: Probe) -> None:
    """The repository's identity, capabilities and our types; raises on the first failure."""
    rc = cfg.repository
    repo = open_repository(rc)
    info = repo.info()
    caps = info.capabilities
    prof = profile(rc.profile)
    AccessPolicy(cfg.permissions, prof, anyone=info.anyone, anonymous=info.anonymous)   # refuses world principals
    lines = [f"repository {info.id}: {info.product_id}, CMIS {info.cmis_version}, profile {prof.name}",
             f"  ACL: {caps.get('capabilityACL')}  query: {caps.get('capabilityQuery')}  "
             f"joins: {caps.get('capabilityJoin')}  content updates: {caps.get('capabilityContentStreamUpdatability')}"]
    can_create = caps.get("capabilityCreatablePropertyTypes", {}).get("canCreate", [])
    lines.append(f"  type mutability: {'yes' if can_create else 'no'}  world principal: {info.anyone}")
    found = {"ok": True, "id": info.id, "product": info.product_id, "cmis_version": info.cmis_version,
             "profile": prof.name, "capabilities": caps, "type_mutability": bool(can_create),
             "world_principal": info.anyone, "types": {}}
    wrong = profile_hint(info.cmis_version, prof)
    if wrong:
        found["ok"], found["profile_problem"] = False, wrong
        result.codes.append(ExitCode.FATAL)
        lines.append(f"  PROFILE: {wrong}")
    for status in type_status(repo, prof):
        created = not status.present and prof.create_types
        deploy = None if status.ok or created else deploy_hint(prof, status)
        found["types"][status.type_id] = {"present": status.present, "will_be_created": prof.create_types,
                                          "versionable": status.versionable,
                                          "missing_properties": list(status.missing), "deploy": deploy}
        lines.append(f"  type {status.type_id}: {'present' if status.present else 'missing'}"
                     + (" (will be created)" if created else ""))
        if status.present and status.type_id == prof.document_type:
            lines.append(f"    versionable: {status.versionable}")
        if deploy:   # sync would stop with exit 5 (Filer.ensure_types): say so now, with what to deploy
            found["ok"] = False
            result.codes.append(ExitCode.FATAL)
            lines.append(f"    DEPLOY: {deploy}")
    lines.append("  content stream hash: sa:sha256 property (computed by the connector)")
    found["bindings"], offered = bindings(rc, repo.session)
    lines += offered
    result.found["repository"], result.lines = found, lines
