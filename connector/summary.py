"""What a run did, counted as it goes (``Pipeline``'s runs, ``Filing``), and its one-line report."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Summary:
    source: str
    items: int = 0
    versions: int = 0
    files: int = 0
    tombstones: int = 0
    unchanged: int = 0
    acl_changes: int = 0    # records whose ACL followed the source without a new version
    swept_units: int = 0    # units the change sweep re-checked (connector.sweep)
    recovered: int = 0
    quarantined: int = 0
    source_requests: int = 0
    cmis_requests: int = 0
    seconds: float = 0.0
    outcome: str = "ok"
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.source}: {self.items} items, {self.versions} new versions, {self.files} files, "
                f"{self.tombstones} tombstones, {self.unchanged} unchanged, {self.acl_changes} ACL changes, "
                f"{self.quarantined} quarantined, "
                f"{self.recovered} recovered; {self.source_requests} source + {self.cmis_requests} CMIS "
                f"requests in {self.seconds:.1f} s ({self.outcome})")
