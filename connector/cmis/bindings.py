"""Which CMIS binding to speak: the ``[repository] binding`` key, and what ``check`` finds out.

``binding = "browser"`` (the default) is the CMIS 1.1 Browser binding (``CmisRepository``);
``binding = "atompub"`` is the AtomPub binding, CMIS 1.0 or 1.1 (``AtomPubRepository``). Both have
the same interface, so everything above them does not care::

    repo = open_repository(config.repository, pool_size=6)

What a binding costs (requests on the session, measured by ``tests/cmis/test_atompub_inmemory.py``
and ``bench/atompub.py``): a new object is one request over the Browser binding (properties,
content, ACL and versioning state in one ``createDocument``) and two over AtomPub (the entry, then
the ACL: OpenCMIS's AtomPub server ignores ACEs sent with a create); a new version is two on both
(check-out, check-in).

``offered`` asks an OpenCMIS-based server (InMemory, Nuxeo, Alfresco 5.2+ use OpenCMIS's server
framework) for ``cmis-endpoints.json`` beside the configured endpoint and checks that each
Browser or AtomPub endpoint listed answers; for other servers it reports the configured endpoint,
its binding told by its answer (JSON: browser, an AtomPub service document: atompub).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import requests

from ..config import RepositoryConfig
from ..errors import ConfigError
from ..http import Session, safe_url
from .client import CmisRepository

if TYPE_CHECKING:
    from .atompub import AtomPubRepository

Repository = Union[CmisRepository, "AtomPubRepository"]
# binding -> its client class by module path: the AtomPub client (and lxml) is imported only for a
# repository configured with binding = "atompub" (~0.16 s of CPU at every start otherwise)
BINDINGS = {"browser": "connector.cmis.client:CmisRepository", "atompub": "connector.cmis.atompub:AtomPubRepository"}
_RANK = {("browser", "1.1"): 0, ("atompub", "1.1"): 1, ("atompub", "1.0"): 2}


def open_repository(rc: RepositoryConfig, **options: Any) -> Repository:
    """The repository client for ``rc.binding``; ``options`` go to its constructor (timeout,
    user_agent, pool_size, ...)."""
    try:
        module, _, name = BINDINGS[rc.binding].partition(":")
    except KeyError:
        raise ConfigError(f"[repository] binding: {rc.binding!r} is not one of {', '.join(BINDINGS)}") from None
    cls = getattr(importlib.import_module(module), name)
    return cls(rc.url, rc.repository_id, rc.username, rc.password, verify=rc.verify_tls, **options)


@dataclass(frozen=True)
class Endpoint:
    binding: str          # browser | atompub
    cmis_version: str     # 1.0 | 1.1
    url: str
    answers: bool

    def as_dict(self) -> dict[str, Any]:
        return {"binding": self.binding, "cmis_version": self.cmis_version, "url": safe_url(self.url),
                "answers": self.answers}


def offered(rc: RepositoryConfig, session: Session) -> list[Endpoint]:
    """The Browser and AtomPub endpoints the server offers (see the module docstring)."""
    base = rc.url.rstrip("/").rsplit("/", 1)[0]
    listed: list[Endpoint] = []
    try:
        response = session.get(f"{base}/cmis-endpoints.json")
        if response.ok:
            for found in response.json().get("endpoints", []):
                binding, url = found.get("binding"), str(found.get("url", "")).strip()
                if binding in BINDINGS and url:
                    listed.append(Endpoint(binding, str(found.get("cmisVersion", "")), url, _answers(session, url)))
    except (requests.RequestException, ValueError, AttributeError):
        listed = []
    if not any(e.url.rstrip("/") == rc.url.rstrip("/") for e in listed):
        listed.append(_configured(rc, session))
    return listed


def _answers(session: Session, url: str) -> bool:
    try:
        return session.get(url).status_code < 400
    except requests.RequestException:
        return False


def _configured(rc: RepositoryConfig, session: Session) -> Endpoint:
    try:
        response = session.get(rc.url)
    except requests.RequestException:
        return Endpoint(rc.binding, "", rc.url, False)
    kind = response.headers.get("Content-Type", "")
    binding = "browser" if "json" in kind else "atompub" if "xml" in kind else rc.binding
    version = ""
    if binding == "browser" and response.ok:
        try:
            version = next(iter(response.json().values()), {}).get("cmisVersionSupported", "")
        except (ValueError, AttributeError):
            version = ""
    elif response.ok:
        version = "1.1" if b"cmisVersionSupported>1.1<" in response.content else "1.0"
    return Endpoint(binding, version, rc.url, response.status_code < 400)


def recommend(endpoints: list[Endpoint]) -> Endpoint | None:
    """The Browser binding where it answers (one request per new object, ACL included), else
    AtomPub 1.1, else AtomPub 1.0 (which needs a CMIS 1.0 profile: no secondary types)."""
    usable = [e for e in endpoints if e.answers and (e.binding, e.cmis_version) in _RANK]
    return min(usable, key=lambda e: _RANK[(e.binding, e.cmis_version)], default=None)


def report(rc: RepositoryConfig, session: Session) -> tuple[dict[str, Any], list[str]]:
    """What ``check`` says about bindings: each endpoint offered, the one configured, the advice."""
    endpoints = offered(rc, session)
    best = recommend(endpoints)
    found = {"configured": rc.binding, "offered": [e.as_dict() for e in endpoints],
             "recommended": best.as_dict() if best else None}
    lines = ["  bindings offered: " + (", ".join(
        f"{e.binding} (CMIS {e.cmis_version or '?'}){'' if e.answers else ' not answering'}" for e in endpoints)
        or "none found")]
    if best is not None:
        advice = f"binding = \"{best.binding}\", url = \"{safe_url(best.url)}\""
        if best.cmis_version == "1.0":
            advice += " with a CMIS 1.0 profile (no secondary types)"
        same = best.binding == rc.binding and best.url.rstrip("/") == rc.url.rstrip("/")
        lines.append(f"  recommended: {advice}" + (" (configured)" if same else ""))
    return found, lines
