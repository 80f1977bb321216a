"""Plain data that sources yield and the pipeline files: items, revisions, content, visibility.

Nothing here knows CMIS or any source API; both sides meet only through these classes.

Example::

    page = Item(
        source="wiki", system="mediawiki", native_id="42", kind="page",
        title="Release notes", url="http://wiki/index.php?curid=42",
        author="Alice", created=..., modified=..., space="Main",
        visibility=Visibility.public(),
        revisions=[Revision(id="1001", created=..., author="Alice", comment="first",
                            content=Content.from_bytes(b"== Hi ==", "text/x-wiki"))],
    )

Edge cases the classes encode:
- ``revisions`` are oldest first; an incremental run may carry only the newest ones.
- ``Content`` is a factory of chunk iterators, so a large file is never held in memory and can
  be re-read on a retry (``chunks()`` is called once per attempt). Whatever the source's
  iterator raises on a transient failure (``Retriable``, a ``requests``/socket error) reaches the
  reader as ``errors.SourceUnavailable``: read inside a repository upload, a socket error of the
  *source* must not pass for one of the repository.
- ``Visibility`` fails closed: only ``Visibility.public()`` is public; anything else restricts.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from .errors import DigestMismatch, Retriable, SourceUnavailable

CHUNK_SIZE = 1 << 16


@dataclass(frozen=True)
class Content:
    """A content stream: its media type, a way to read it in chunks, and what the source says of it.

    ``source_digest`` is ``(algorithm, hex)`` as given by the source (MediaWiki: sha1), checked
    while the bytes flow to the repository. ``sha256`` is known before any upload only for bytes
    already in memory (``from_bytes``): it tells two states of an item apart without a request.
    """

    media_type: str
    chunks: Callable[[], Iterable[bytes]]
    size: int | None = None
    filename: str | None = None
    source_digest: tuple[str, str] | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        # Whoever reads the bytes (the upload, a content scan, a report) gets SourceUnavailable
        # when the source fails, never a requests/socket error that passes for someone else's.
        if not getattr(self.chunks, "_source_guarded", False):
            object.__setattr__(self, "chunks", _guarded(self.chunks))

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str, filename: str | None = None,
                   source_digest: tuple[str, str] | None = None) -> "Content":
        """Wrap bytes already in memory (markup, JSON records: small by nature)."""
        return cls(media_type=media_type, chunks=lambda: _split(data), size=len(data),
                   filename=filename, source_digest=source_digest, sha256=hashlib.sha256(data).hexdigest())


def _split(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK_SIZE):
        yield data[start:start + CHUNK_SIZE]
    if not data:
        yield b""


class HashingReader:
    """Pass chunks through while computing SHA-256 (ours) and the source's digest (if any).

    >>> reader = HashingReader(Content.from_bytes(b"abc", "text/plain"))
    >>> b"".join(reader)
    b'abc'
    >>> reader.sha256[:8], reader.length
    ('ba7816bf', 3)
    """

    def __init__(self, content: Content):
        self.content = content
        self._sha256 = hashlib.sha256()
        self._source = hashlib.new(content.source_digest[0]) if content.source_digest else None
        self.length = 0
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.content.chunks():
            if not chunk:
                continue
            self._sha256.update(chunk)
            if self._source is not None:
                self._source.update(chunk)
            self.length += len(chunk)
            yield chunk
        self.done = True
        self.check()

    def check(self) -> None:
        """Raise DigestMismatch if the source announced a digest or size that the bytes do not match."""
        if self.content.source_digest and self._source is not None:
            algorithm, expected = self.content.source_digest
            if self._source.hexdigest() != expected.lower():
                raise DigestMismatch(
                    f"{algorithm} of the bytes read is {self._source.hexdigest()}, "
                    f"the source announced {expected}")
        if self.content.size is not None and self.length != self.content.size:
            raise DigestMismatch(f"read {self.length} bytes, the source announced {self.content.size}")

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def _guarded(chunks: Callable[[], Iterable[bytes]]) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        return _from_source(chunks)
    read._source_guarded = True  # type: ignore[attr-defined]
    return read


def _from_source(chunks: Callable[[], Iterable[bytes]]) -> Iterator[bytes]:
    """The source's chunks; a transient failure of the source becomes ``SourceUnavailable``.

    The chunks are read inside the repository upload, where a ``requests``/socket error (an
    ``OSError``) would pass for a failure of the repository connection.
    """
    try:
        yield from chunks()
    except SourceUnavailable:
        raise
    except Retriable as exc:
        raise SourceUnavailable(f"the source failed while its content was read: {exc}",
                                retry_after=exc.retry_after) from None
    except OSError as exc:   # requests.RequestException is an OSError too
        raise SourceUnavailable(f"the source failed while its content was read: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Visibility:
    """Who may read an item in the source. Fail closed: only ``public()`` is public.

    ``readers`` are source principals ("group:sysop", "user:alice", "role:editor"); the mapping
    turns them into ECM principals through the explicit principal map in the config.
    """

    is_public: bool
    readers: tuple[str, ...] = ()
    reason: str = ""

    @classmethod
    def public(cls) -> "Visibility":
        return cls(is_public=True, reason="public")

    @classmethod
    def restricted(cls, reason: str, readers: Iterable[str] = ()) -> "Visibility":
        return cls(is_public=False, readers=tuple(readers), reason=reason)

    @property
    def label(self) -> str:
        return "public" if self.is_public else "restricted"


@dataclass
class Revision:
    """One state of an item. ``content`` is the original markup or file, byte-exact.

    ``record`` is the raw source record of this revision (API JSON as received), kept for evidence.
    ``title`` is the item's title at this revision when the source tracks it (page moves).
    """

    id: str
    created: datetime
    author: str | None
    content: Content
    comment: str = ""
    title: str | None = None
    record: bytes | None = None


@dataclass
class Item:
    """A source object that becomes one document (one version series) in the repository."""

    source: str
    system: str
    native_id: str
    kind: str
    title: str
    url: str
    visibility: Visibility
    revisions: list[Revision]
    author: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    space: str = ""
    parent_id: str | None = None
    tags: tuple[str, ...] = ()
    attachments: list["Item"] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return record_key(self.source, self.kind, self.native_id)


@dataclass
class Tombstone:
    """A deletion seen in the source. It is filed as a record of its own; nothing is removed."""

    source: str
    system: str
    native_id: str
    kind: str
    detected_at: datetime
    detected_by: str
    title: str = ""
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    reason: str = ""
    record: bytes | None = None
    # source principals who can still see the deleted content in the source (wiki sysops, forum
    # staff, blog editors): the deleted record's ACL narrows to them (mapped), admins and
    # restricted readers
    readers: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return record_key(self.source, self.kind, self.native_id)


@dataclass(frozen=True)
class Access:
    """What a source's visibility sweep found about one archived record: who may read it in the
    source *now*. The pipeline stores it and narrows (or, with no archive restriction, widens) the
    record's ACL when the ACL it decides from it differs from the one last written."""

    key: str
    visibility: Visibility


@dataclass
class Recheck:
    """What the change sweep found in one unit (a topic, a thread, a batch of comments or pages):
    ``marks`` are the cheap change markers of the records the unit covers (record key -> marker;
    None: checked, no marker of its own), ``objects`` the items to file for the records whose
    marker says they changed (the pipeline files only revisions the archive lacks)."""

    unit: str
    marks: dict[str, str | None]
    objects: Iterable["Item | Tombstone"] = ()


def access_label(visibility: Visibility) -> str:
    """Who may read a record in the source, as the ledger keeps it: ``public:`` or
    ``restricted:["group:a", "user:b,c"]`` (readers as JSON: a user name may hold a comma).

    >>> access_label(Visibility.restricted("x", ["user:b", "group:a"]))
    'restricted:["group:a", "user:b"]'
    >>> visibility_from_label(access_label(Visibility.restricted("x", ["user:b,c"]))).readers
    ('user:b,c',)
    """
    if visibility.is_public:
        return "public:"
    return "restricted:" + (json.dumps(sorted(visibility.readers)) if visibility.readers else "")


def visibility_from_label(label: str) -> Visibility:
    """The visibility a ledger label stands for; anything but ``public`` restricts. Labels of older
    ledgers list readers with commas."""
    kind, _, readers = label.partition(":")
    if kind == "public":
        return Visibility.public()
    if readers.startswith("["):
        return Visibility.restricted("as last seen in the source", json.loads(readers))
    return Visibility.restricted("as last seen in the source", [r for r in readers.split(",") if r])


@dataclass(frozen=True)
class Skipped:
    """A record the source could not read this run (an error answer, a broken record, no right to
    read it). The source reads it again next run; the pipeline quarantines it meanwhile, so it is
    reported like any record that could not be filed, and cleared once it is."""

    key: str
    reason: str


def record_key(source: str, kind: str, native_id: str) -> str:
    """The identity of a record across runs: ``source/kind/native id``."""
    return f"{source}/{kind}/{native_id}"
