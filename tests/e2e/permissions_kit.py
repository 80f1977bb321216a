"""A scripted source and config writer for the permission tests (real OpenCMIS InMemory behind).

``ScriptedSource`` stands for what a source *says*: the objects its feed yields (``queue``) and
the visibility its sweep re-derives (``shown``). It is not a server: every repository request of
these tests goes to the real OpenCMIS InMemory of ``make test``.
"""
from __future__ import annotations

import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterator, Mapping

from connector.model import Access, Content, Item, Revision, Tombstone, Visibility

from ..conftest import BINDING
from ..sources.stub import StubSource

WORLD = {"anyone", "anonymous", "cmis:anyone", "cmis:anonymous", "GROUP_EVERYONE", "Everyone", "guest", "*"}
IBAN = "DE89 3704 0044 0532 0130 00"   # restricted by the test classification rules below
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)

RULES = """
[classification]
default_class = "organisation"
[classes.organisation]
retention = "gobd-10"
[sensitive]
detectors = ["iban"]
restrict = ["iban"]
"""


class ScriptedSource(StubSource):
    """Yields the queued objects as its feed; its sweep reports ``shown`` for the records it holds."""

    system = "mediawiki"
    request_count = 0

    def __init__(self, name: str = "wiki"):
        self.name = name
        self.queue: list[Item | Tombstone] = []
        self.shown: dict[str, Visibility] = {}   # key -> who may read it in the source now
        self.swept: list[set[str]] = []          # the keys each sweep was asked about

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        queued, self.queue = self.queue, []
        yield from queued

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        self.swept.append(set(archived))
        for key in archived:
            if key in self.shown:
                yield Access(key, self.shown[key])


def page(native_id: str, texts: list[str], visibility: Visibility, *, first: int = 1,
         author: str = "Alice") -> Item:
    """A wiki page carrying revisions ``first``, ``first + 1``, ... with the given texts."""
    revisions = [Revision(str(n), T0 + timedelta(days=n), author, Content.from_bytes(text.encode(), "text/x-wiki"),
                          comment=f"edit {n}")
                 for n, text in enumerate(texts, start=first)]
    return Item(source="wiki", system="mediawiki", native_id=native_id, kind="page", title=f"Page {native_id}",
                url=f"http://wiki.test/?curid={native_id}", visibility=visibility, revisions=revisions,
                author=author, created=T0, space="Main")


def tombstone(native_id: str, readers: tuple[str, ...] = ("group:sysop",)) -> Tombstone:
    return Tombstone(source="wiki", system="mediawiki", native_id=native_id, kind="page",
                     detected_at=datetime.now(timezone.utc), detected_by="logevents:delete", title=f"Page {native_id}",
                     readers=readers)


def write_configs(directory, cmis_url: str, variants: Mapping[str, str]) -> dict[str, str]:
    """One config file per ``[permissions.principals]`` variant, all sharing one ledger and one
    base folder (a config change between runs of one archive)."""
    base_path = f"/perm-{uuid.uuid4().hex[:10]}"
    (directory / "cmis-password").write_text("admin\n")
    (directory / "classes.toml").write_text(RULES)
    paths = {}
    for name, principals in variants.items():
        text = textwrap.dedent(f"""
            [repository]
            url = "{cmis_url}"
            repository_id = "A1"
            binding = "{BINDING}"
            username = "admin"
            password_file = "cmis-password"
            base_path = "{base_path}"

            [state]
            ledger = "state/ledger.sqlite"

            [compliance]
            classification = "classes.toml"

            [permissions]
            archive_admins = ["admin"]
            restricted_readers = ["GROUP_records"]
            [permissions.principals]
        """) + textwrap.dedent(principals)
        path = directory / f"{name}.toml"
        path.write_text(text)
        paths[name] = str(path)
    return paths
