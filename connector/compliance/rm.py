"""The CMIS 1.1 records-management secondary types (CMIS 1.1 §2.1.16), probed once per run.

- ``cmis:rm_clientMgtRetention`` carries ``cmis:rm_expirationDate`` and ``cmis:rm_startOfRetention``:
  when the repository defines it, every version gets it beside our own ``sa:retainUntil``, and the
  repository (not the connector) enforces the retention;
- ``cmis:rm_hold`` carries ``cmis:rm_holdIds``: when defined, legal holds go there as well as into
  our ``sa:holdIds``.

OpenCMIS InMemory and Alfresco Community define neither; then only our properties are written,
which record the decision but enforce nothing (the ECM's retention/WORM must). The config key
``[compliance] cmis_rm`` = ``"auto"`` (probe, the default) | ``"on"`` | ``"off"`` overrides the probe.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..cmis.client import CmisRepository
from ..errors import ConfigError

RETENTION_TYPE = "cmis:rm_clientMgtRetention"
HOLD_TYPE = "cmis:rm_hold"
EXPIRATION = "cmis:rm_expirationDate"
START = "cmis:rm_startOfRetention"
HOLD_IDS = "cmis:rm_holdIds"


@dataclass(frozen=True)
class RmSupport:
    retention: bool = False
    hold: bool = False

    def describe(self) -> str:
        have = [t for t, on in ((RETENTION_TYPE, self.retention), (HOLD_TYPE, self.hold)) if on]
        return ", ".join(have) if have else "none (retention and holds are recorded in sa:* properties only)"


def probe(repo: CmisRepository, mode: str = "auto") -> RmSupport:
    """Which of the rm types to use: asks the repository once unless the config decides."""
    if mode == "off":
        return RmSupport()
    if mode == "on":
        return RmSupport(True, True)
    if mode != "auto":
        raise ConfigError(f"[compliance] cmis_rm must be auto, on or off, not {mode!r}")
    return RmSupport(retention=repo.get_type(RETENTION_TYPE) is not None, hold=repo.get_type(HOLD_TYPE) is not None)


def with_secondary(current: list[str] | str | None, *extra: str) -> list[str]:
    """The secondary type ids of an object plus ``extra``, without duplicates, order kept."""
    ids = [current] if isinstance(current, str) else list(current or [])
    for type_id in extra:
        if type_id and type_id not in ids:
            ids.append(type_id)
    return ids
