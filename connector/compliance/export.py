"""Auditor export: a BagIt bag (RFC 8493, written by our own code) with every version's content,
per-record metadata, an index, and the matching slice of the audit log; optionally an RFC 3161
timestamp over the tag manifest.

Layout::

    OUT/
      bagit.txt                   BagIt-Version 1.0, UTF-8
      bag-info.txt                Payload-Oxum, Bagging-Date, Bag-Size, our Socialarchive-* fields
      manifest-sha256.txt         every payload file
      tagmanifest-sha256.txt      bagit.txt, bag-info.txt, manifest-sha256.txt (and tsa-ca.pem)
      tagmanifest-sha256.txt.tsr  RFC 3161 timestamp response over tagmanifest-sha256.txt (TSA configured)
      tsa-ca.pem                  the TSA's CA certificate, when [compliance] tsa_ca_file is set
      data/
        index.csv                 one line per version: key, version, revision, file, sha256, class, ...
        export.json               the selection, counts, and any fixity problems found while exporting
        audit/audit-slice.jsonl   the audit entries about the exported records (and the matter)
        audit/audit-head.json     the last entry of the audit log at export time (seq, hash)
        records/<source>/<kind>/<native id>/
          metadata.json           record: key, object ids, folder paths, ACL, every version's properties
          v1.0.wiki, v2.0.wiki    the content of each version, byte-exact, streamed to disk

Check it::

    bagit.py --validate OUT                      # or any BagIt validator
    openssl ts -verify -in OUT/tagmanifest-sha256.txt.tsr -data OUT/tagmanifest-sha256.txt \\
        -CAfile OUT/tsa-ca.pem

The timestamp request is built with ``openssl ts -query`` (SHA-256, nonce, TSA certificate
requested) and POSTed as ``application/timestamp-query`` (no redirect followed; credentials only
over https). The reply must be granted and bound to the request, whatever TSA answered: its
message imprint is the SHA-256 of the tag manifest (computed here) and its nonce the request's
(both read from ``openssl ts -reply -text``), so a token for other data or a replayed one is never
stored. With ``tsa_ca_file`` it must also verify against that CA (``openssl ts -verify``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import requests

from .. import __version__
from ..cmis.names import folder_segment
from ..errors import ConfigError, ConnectorError, EmptySelection, ExportError, Retriable
from ..http import retrying
from .holds import HoldBook, held_records
from .select import Criteria, Found, by_criteria, single
from .settings import Settings, settings, operator

CHUNK = 1 << 16
MAX_REPLY = 1 << 20            # a timestamp reply is a few KB: token, TSA certificate, chain
_DUMP_ROW = re.compile(r"^\s+[0-9a-f]{4} - (.{1,48})")   # BIO_dump: offset, 16 hex pairs, the text
_HEX_PAIR = re.compile(r"[0-9a-f]{2}")


class BagWriter:
    """Writes a bag: payload files under ``data/`` (hashed while written), then the tag files."""

    def __init__(self, root: str):
        self.check(root)
        self.root = root
        os.makedirs(os.path.join(root, "data"), exist_ok=True)
        self.manifest: dict[str, str] = {}
        self.octets = 0

    @staticmethod
    def check(root: str) -> None:
        if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
            raise ConfigError(f"export: {root} exists and is not an empty directory (nothing is overwritten)")

    def _path(self, rel: str) -> str:
        parts = rel.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad payload path {rel!r}")
        full = os.path.join(self.root, "data", *parts)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    def add_stream(self, rel: str, chunks) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        path = self._path(rel)
        try:
            with open(path, "xb") as fh:
                for chunk in chunks:
                    if chunk:
                        fh.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            if os.path.exists(path):
                os.remove(path)  # a payload file not in the manifest would make the bag invalid
            raise
        self.manifest["data/" + rel] = digest.hexdigest()
        self.octets += size
        return digest.hexdigest(), size

    def add_bytes(self, rel: str, data: bytes) -> tuple[str, int]:
        return self.add_stream(rel, [data])

    def finish(self, info: list[tuple[str, str]], extra_tag_files: dict[str, bytes] | None = None) -> str:
        """Write the tag files; returns the path of tagmanifest-sha256.txt."""
        tags: dict[str, bytes] = {}
        tags["bagit.txt"] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
        files = len(self.manifest)
        header = [("Bagging-Date", datetime.now(timezone.utc).strftime("%Y-%m-%d")),
                  ("Payload-Oxum", f"{self.octets}.{files}"), ("Bag-Size", _human(self.octets))]
        tags["bag-info.txt"] = "".join(f"{k}: {_one_line(v)}\n" for k, v in header + info).encode("utf-8")
        tags["manifest-sha256.txt"] = "".join(f"{h}  {_encode(p)}\n" for p, h in sorted(self.manifest.items())).encode("utf-8")
        tags.update(extra_tag_files or {})
        for name, data in tags.items():
            with open(os.path.join(self.root, name), "xb") as fh:
                fh.write(data)
        tagmanifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {_encode(name)}\n" for name, data in sorted(tags.items()))
        path = os.path.join(self.root, "tagmanifest-sha256.txt")
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(tagmanifest)
        return path


def _encode(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode %, CR and LF in manifest paths. (bagit-python decodes only
    CR and LF, so the export never names a payload file with a %: see ``_segment``.)"""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _human(octets: int) -> str:
    size = float(octets)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{octets} bytes"


# --- RFC 3161 ---------------------------------------------------------------------------------
def timestamp(data_path: str, conf: Settings, session: requests.Session | None = None) -> bytes:
    """A granted RFC 3161 timestamp response for the file at ``data_path`` from the configured TSA."""
    if not conf.tsa_url:
        raise ConfigError("no [compliance] tsa_url configured")
    with tempfile.TemporaryDirectory() as tmp:
        query = os.path.join(tmp, "request.tsq")
        _openssl("ts", "-query", "-data", data_path, "-sha256", "-cert", "-out", query)
        nonce = _stamped(_openssl("ts", "-query", "-in", query, "-text"))[2]
        with open(query, "rb") as fh:
            body = fh.read()
        http = session or requests.Session()
        auth = (conf.tsa_username, conf.tsa_password or "") if conf.tsa_username else None
        try:
            response = http.post(conf.tsa_url, data=body, auth=auth, timeout=conf.tsa_timeout,
                                 allow_redirects=False, stream=True,
                                 headers={"Content-Type": "application/timestamp-query",
                                          "Accept": "application/timestamp-reply",
                                          "User-Agent": f"socialarchive/{__version__}"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Retriable(f"timestamp authority {conf.tsa_url} unreachable: {type(exc).__name__}") from None
        reply = os.path.join(tmp, "reply.tsr")
        with response, open(reply, "wb") as fh:
            if response.status_code >= 500 or response.status_code == 429:
                raise Retriable(f"timestamp authority answered HTTP {response.status_code}")
            if response.status_code != 200:
                raise ExportError(f"timestamp authority refused the request: HTTP {response.status_code}")
            for chunk in response.iter_content(CHUNK):
                if fh.tell() + len(chunk) > MAX_REPLY:
                    raise ExportError(f"timestamp reply from {conf.tsa_url} is larger than {MAX_REPLY} bytes")
                fh.write(chunk)
        text = _openssl("ts", "-reply", "-in", reply, "-text")
        if "Status: Granted" not in text:
            status = next((line for line in text.splitlines() if line.startswith("Status")), "no status")
            raise ExportError(f"timestamp not granted by {conf.tsa_url}: {status}")
        algorithm, imprint, reply_nonce = _stamped(text)
        if (algorithm, imprint) != ("sha256", _sha256(data_path)):
            raise ExportError(f"timestamp from {conf.tsa_url} is for other data: its message imprint is "
                              f"{algorithm} {imprint or 'missing'}, not the SHA-256 of {os.path.basename(data_path)}")
        if reply_nonce != nonce:
            raise ExportError(f"timestamp from {conf.tsa_url} answers another request: nonce {reply_nonce or 'missing'}, "
                              f"sent {nonce}")
        verify = ["ts", "-verify", "-queryfile", query, "-in", reply]
        if conf.tsa_ca_file:
            try:
                out = _openssl(*verify, "-CAfile", conf.tsa_ca_file)
            except ExportError as exc:
                out = str(exc)
            if "Verification: OK" not in out:
                raise ExportError(f"timestamp from {conf.tsa_url} does not verify against {conf.tsa_ca_file}: "
                                  f"{out.strip()[-300:]}")
        with open(reply, "rb") as fh:
            return fh.read()


def _stamped(text: str) -> tuple[str, str, str]:
    """(hash algorithm, message imprint in hex, nonce as printed) from the ``-text`` of
    ``openssl ts -query`` or ``-reply``; an empty string for what is missing.

    >>> _stamped("Hash Algorithm: sha256\\nMessage data:\\n    0000 - 58 91 b5-b5   X...\\n"
    ...          "Policy OID: 1.2\\nNonce: 0x83B72F\\n")
    ('sha256', '5891b5b5', '0x83b72f')
    """
    algorithm = imprint = nonce = ""
    dump = False
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if line == "Message data:":
            dump = True
        elif dump and (row := _DUMP_ROW.match(line)):
            imprint += "".join(_HEX_PAIR.findall(row.group(1)))
        else:
            dump = False
            if key == "Hash Algorithm":
                algorithm = value.strip().lower()
            elif key == "Nonce":
                nonce = value.strip().lower()
    return algorithm, imprint, nonce


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _openssl(*args: str) -> str:
    try:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ExportError("openssl is not installed; it is needed for RFC 3161 timestamps") from None
    if done.returncode != 0:
        raise ExportError(f"openssl {' '.join(args[:2])} failed: {(done.stderr or done.stdout).strip()[:500]}")
    return done.stdout + done.stderr


# --- the export -------------------------------------------------------------------------------
@dataclass
class ExportReport:
    out: str
    selection: dict
    records: int = 0
    versions: int = 0
    payload_octets: int = 0
    payload_files: int = 0
    audit_entries: int = 0
    tagmanifest_sha256: str = ""
    timestamp: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"bag {self.out}: {self.records} records, {self.versions} versions, Payload-Oxum "
               f"{self.payload_octets}.{self.payload_files}, {self.audit_entries} audit entries"
               + (f", timestamp {self.timestamp}" if self.timestamp else ", no timestamp (no tsa_url)")]
        out += [f"  problem: {p}" for p in self.problems]
        return out


def export(archive, out: str, *, matter: str | None = None, criteria: Criteria | None = None,
           allow_empty: bool = False) -> ExportReport:
    """Write the bag for a legal hold's records (``matter``) or a source/date selection.

    A selection of no record raises ``EmptySelection`` before any file or audit entry is
    written (an empty bag handed to an auditor looks like a complete one), unless ``allow_empty``."""
    if bool(matter) == bool(criteria):
        raise ConfigError("export needs either a matter or a selection")
    conf = settings(archive.config)
    if conf.tsa_ca_file and not os.path.exists(conf.tsa_ca_file):
        raise ConfigError(f"[compliance] tsa_ca_file {conf.tsa_ca_file} does not exist")
    selection = {"matter": matter} if matter else criteria.as_dict()
    BagWriter.check(out)
    report = ExportReport(out=os.path.abspath(out), selection=selection)
    if matter:
        book = HoldBook(archive.ledger)
        hold = book.latest(matter)
        if hold is None:
            raise ConfigError(f"no hold {matter!r} in the ledger (see `socialarchive hold list`)")
        records = held_records(archive, book, hold)
        missing = book.keys(hold) - set(records)
        report.problems += [f"{k}: held in the ledger but not found in the repository" for k in sorted(missing)]
        selection.update(hold=hold.as_dict())
    else:
        records = by_criteria(archive, criteria)
    if not records and not report.problems and not allow_empty:   # held records gone: a bag listing them
        raise EmptySelection("export", f"hold {matter}" if matter else criteria.describe())

    work = os.path.abspath(out).rstrip("/") + ".partial"
    bag = BagWriter(work)
    try:
        token = _write_bag(archive, bag, report, records, selection, matter, conf)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if os.path.isdir(out):
        os.rmdir(out)               # empty (checked); the finished bag takes its place
    os.rename(work, out)            # a bag appears under its name only when complete
    archive.audit.append("export", out=report.out, selection=selection if not matter else {"matter": matter},
                         records=report.records, versions=report.versions,
                         payload_oxum=f"{report.payload_octets}.{report.payload_files}",
                         tagmanifest_sha256=report.tagmanifest_sha256,
                         timestamp_sha256=hashlib.sha256(token).hexdigest() if token else None,
                         tsa_url=conf.tsa_url, problems=len(report.problems), user=operator(), run_id=archive.run_id)
    return report


def _write_bag(archive, bag: "BagWriter", report: "ExportReport", records: dict, selection: dict,
               matter: str | None, conf: Settings) -> bytes | None:
    """Payload, tag files and timestamp; returns the timestamp token (None without a TSA)."""
    token = None
    index = io.StringIO()
    table = csv.writer(index, lineterminator="\n")
    table.writerow(["key", "version", "revision_id", "file", "sha256", "length", "media_type", "record_class",
                    "retain_until", "holds", "sensitive", "title", "object_id"])
    used_dirs: set[str] = set()
    for key in sorted(records):
        _export_record(archive, bag, report, table, records[key], used_dirs)
    bag.add_bytes("index.csv", index.getvalue().encode("utf-8"))
    exported_keys = set(records)
    slice_lines, head = _audit_slice(archive.config.audit_path, exported_keys, matter)
    report.audit_entries = len(slice_lines)
    bag.add_bytes("audit/audit-slice.jsonl", b"".join(slice_lines))
    bag.add_bytes("audit/audit-head.json", json.dumps(head, indent=2, sort_keys=True).encode("utf-8"))
    summary = {"selection": selection, "records": report.records, "versions": report.versions,
               "problems": report.problems, "exported_at": datetime.now(timezone.utc).isoformat(),
               "exported_by": operator(), "connector_version": __version__, "config_sha256": archive.config.fingerprint,
               "repository": {"url": archive.repo.url, "repository_id": archive.repo.repository_id,
                              "base_path": archive.filer.base_path or "/"}}
    bag.add_bytes("export.json", json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    classes = _count_classes(index.getvalue())
    info = [("Source-Organization", conf.organization or ""),
            ("Bag-Software-Agent", f"socialarchive {__version__}"),
            ("External-Identifier", f"matter {matter}" if matter else Criteria.from_dict(selection).describe()),
            ("External-Description", f"Export of {report.records} archived records ({report.versions} versions) "
                                     "with metadata and audit trail"),
            ("Internal-Sender-Identifier", archive.run_id),
            ("Socialarchive-Repository", f"{archive.repo.url} {archive.repo.repository_id} "
                                         f"{archive.filer.base_path or '/'}"),
            ("Socialarchive-Selection", json.dumps({"matter": matter} if matter else selection, sort_keys=True)),
            ("Socialarchive-Records", str(report.records)), ("Socialarchive-Versions", str(report.versions)),
            ("Socialarchive-Record-Classes", ", ".join(f"{c} ({n})" for c, n in sorted(classes.items()))),
            ("Socialarchive-Config-SHA256", archive.config.fingerprint),
            ("Socialarchive-Audit-Head", f"{head.get('seq')} {head.get('hash')}"),
            ("Socialarchive-Fixity-Problems", str(len(report.problems))),
            ("Socialarchive-Timestamp", f"RFC 3161 over tagmanifest-sha256.txt by {conf.tsa_url} "
                                        "(tagmanifest-sha256.txt.tsr)" if conf.tsa_url else "none")]
    info = [(k, v) for k, v in info if v]
    extra = {}
    if conf.tsa_ca_file:
        with open(conf.tsa_ca_file, "rb") as fh:
            extra["tsa-ca.pem"] = fh.read()
    tagmanifest = bag.finish(info, extra)
    report.payload_octets, report.payload_files = bag.octets, len(bag.manifest)
    with open(tagmanifest, "rb") as fh:
        report.tagmanifest_sha256 = hashlib.sha256(fh.read()).hexdigest()
    if conf.tsa_url:
        token = retrying(lambda: timestamp(tagmanifest, conf), attempts=3)
        with open(tagmanifest + ".tsr", "xb") as fh:
            fh.write(token)
        report.timestamp = "tagmanifest-sha256.txt.tsr"
    return token


def _export_record(archive, bag: BagWriter, report: ExportReport, table, record: Found, used_dirs: set[str]) -> None:
    key, object_id, history = record.key, record.object_id, record.versions
    source, kind, native = key.split("/", 2)
    directory = "records/" + "/".join(_segment(p) for p in (source, kind, native))
    if directory in used_dirs:
        directory += " ~" + hashlib.sha256(key.encode()).hexdigest()[:8]
    used_dirs.add(directory)
    ledger_hashes = archive.ledger.version_digests(key)
    entries = []
    for props in history:
        vid, label = props["cmis:objectId"], props.get("cmis:versionLabel") or "0"
        ext = os.path.splitext(props.get("cmis:name", ""))[1]
        ext = ext if 1 < len(ext) <= 8 and ext[1:].isalnum() else ""
        name = f"v{_segment(label)}{ext}"
        try:
            sha, size = bag.add_stream(f"{directory}/{name}", archive.repo.content(vid))
        except (ConnectorError, requests.RequestException) as exc:
            report.problems.append(f"{key} v{label}: content could not be read: {exc}")
            continue
        expected = single(props.get("sa:sha256"))
        if sha != expected or (vid in ledger_hashes and ledger_hashes[vid] != sha):
            report.problems.append(f"{key} v{label} ({vid}): exported content has sha256 {sha}, the object's "
                                   f"sa:sha256 is {expected}, the ledger filed {ledger_hashes.get(vid)}")
        report.versions += 1
        entries.append({"version": label, "object_id": vid, "file": name, "sha256": sha, "length": size,
                        "properties": {k: v for k, v in sorted(props.items())}})
        table.writerow([key, label, single(props.get("sa:revisionId")) or "", f"data/{directory}/{name}", sha, size,
                        single(props.get("sa:mediaType")) or "", single(props.get("sa:recordClass")) or "",
                        _iso(single(props.get("sa:retainUntil"))), ";".join(_list(props.get("sa:holdIds"))),
                        ";".join(_list(props.get("sa:sensitive"))), single(props.get("sa:title")) or "", vid])
    try:
        acl = {p: sorted(perms) for p, perms in retrying(lambda: archive.repo.acl(object_id), attempts=3).items()}
        paths = retrying(lambda: archive.repo.parents(history[-1]["cmis:objectId"]), attempts=3)
    except ConnectorError as exc:
        acl, paths = {}, []
        report.problems.append(f"{key}: ACL or folder could not be read: {exc}")
    metadata = {"key": key, "source": source, "kind": kind, "native_id": native,
                "series_id": history[-1].get("cmis:versionSeriesId"), "folders": paths, "acl": acl,
                "note": "datetime properties are milliseconds since 1970-01-01 UTC (CMIS Browser binding)",
                "versions": entries}
    bag.add_bytes(f"{directory}/metadata.json",
                  json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    report.records += 1


def _segment(text: str) -> str:
    """A path segment inside the bag: a safe folder name without % (see ``_encode``)."""
    return folder_segment(text).replace("%", "_")


def _audit_slice(path: str, keys: set[str], matter: str | None) -> tuple[list[bytes], dict]:
    lines, head = [], {}
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return lines, head
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            head = {"seq": entry.get("seq"), "hash": entry.get("hash"), "time": entry.get("time")}
            if entry.get("key") in keys or (matter and entry.get("matter") == matter):
                lines.append(line if line.endswith(b"\n") else line + b"\n")
    return lines, head


def _count_classes(index_csv: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(index_csv)):
        counts[row["record_class"] or "unclassified"] = counts.get(row["record_class"] or "unclassified", 0) + 1
    return counts


def _list(value) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _iso(value) -> str:
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc).isoformat()
    return str(value or "")
