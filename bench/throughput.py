#!/usr/bin/env python3
"""Throughput: N new wiki revisions into an empty OpenCMIS InMemory, OURS vs RAW, same concurrency.

Every contender is a process of its own, timed from spawn to exit (the whole process), with the
same ``--workers`` threads writing:

OURS   ``Archive.open`` + ``Pipeline.backfill`` of a source yielding N pages of one revision each
       (default config: mapping, classifier and sensitive-data scan, ledger intents and commits in
       SQLite with synchronous=FULL, the hash-chained audit log with fsync, folders from the mapping,
       one createDocument per item, SHA-256 while streaming, the repository's echo checked).
RAW    plain ``requests``: one createDocument POST per item with THE SAME PAYLOAD: the type,
       secondary types, properties, ACEs and versioning state that OURS sent for an object it filed
       in this bench run (captured at the call in a warm-up run of OURS, one per round), the item's
       own name and content (the same bytes as OURS'), its SHA-256 and length computed by the loop.
BARE   the same loop with bare creates: ``cmis:document``, a name and the content (no versioning
       state: InMemory's ``cmis:document`` is not versionable).

Each process reports its phases: *start* (spawn to the end of its imports), *set-up* (OURS: lock,
ledger, repository info, archive check, classifier, types; RAW: session, folder) and *filing*
(the N creates; OURS' folders are made on first use here), and its CPU time (user + system, all
threads: what it costs beside waiting for the repository, steadier than rates on a busy machine).
Whole-process rate = N / (spawn to exit); per-version rate = N / filing.

OURS, as the CLI, freezes the objects of its imports out of the garbage collector's walk
(``gc.freeze``) before it starts; RAW's few imports leave the collector little to walk at exit.

Children run with their bytecode cached (``child_environment``): the warm-up compiles, every timed
process then starts as an installed package does.

A round: the private server (``--port``, ``--state``; never the shared one) is restarted empty
(InMemory slows as its heap fills) and warmed up: each contender files ``--warm-up`` items (OURS
first: the template, types), then the warm-up's folders are deleted, so the timed runs meet a
server whose JIT has compiled every contender's path and whose store is empty again. (With a
20-item warm-up the contender that ran first in a round paid the server's JIT compilation: 20-25 %
slower, and 1 ms more server CPU a version, whichever it was.) Then OURS, RAW and BARE run in an
order rotated per round. Medians over ``--rounds`` rounds per worker count; the ratios compare
medians, and the paired ratio is the median of each round's OURS/RAW (same server, same minute).

    PYTHONPATH=. python bench/throughput.py [--items 1000] [--rounds 3] [--workers 1 4] [--size 3300]
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT, STATE = 18192, "/tmp/cmis-bench-throughput"
BYTECODE = "/tmp/sa-bench-bytecode"
CONTENDERS = ("ours", "raw", "bare")


# --- the child processes ------------------------------------------------------------------
def child_ours(args) -> dict:
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from common import ListSource, page, write_config   # the bench's own, as RAW imports it
    gc.disable()   # as the CLI does while its modules are imported (connector/cli/__init__.py)
    from connector.cmis import client
    from connector.archive import Archive
    from connector.pipeline import Pipeline
    gc.enable()
    imported = time.time()
    gc.freeze()   # as the CLI does once its imports are done (connector/cli/app.py)

    if args.template_out:   # keep the first createDocument's payload (an object we file now)
        original = client.CmisRepository.create_document

        def create_document(self, folder_id, properties, upload, *, versioning_state="major", acl_add=None,
                            acl_remove=None):
            if not os.path.exists(args.template_out):
                sent = {k: [client.encode_value(x) for x in v] if isinstance(v, (list, tuple))
                        else client.encode_value(v) for k, v in self._writable(properties).items() if v is not None}
                with open(args.template_out, "w") as fh:
                    json.dump({"properties": sent, "add": acl_add or {}, "remove": acl_remove or {},
                               "versioning_state": versioning_state}, fh)
            return original(self, folder_id, properties, upload, versioning_state=versioning_state,
                            acl_add=acl_add, acl_remove=acl_remove)
        client.CmisRepository.create_document = create_document
    objects = [page(args.offset + i, args.size) for i in range(args.items)]
    config = write_config(args.url)
    started = time.time()
    archive = Archive.open(config, workers=args.workers)
    try:
        set_up = time.time()
        summary = Pipeline(archive).backfill(ListSource("bench", objects), None, None)
        filed = time.time()
    finally:
        archive.close()
    if summary.versions != args.items or summary.quarantined or summary.outcome != "ok":
        raise SystemExit(f"OURS did not file everything: {summary.line()}")
    return {"start": imported - args.spawned, "setup": set_up - started, "filing": filed - set_up,
            "requests": summary.cmis_requests, "cpu": _cpu()}


def child_raw(args, bare: bool) -> dict:
    import hashlib
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from common import raw_folder, text_of
    imported = time.time()

    contents = [text_of((args.offset + i) * 100 + 1, args.size) for i in range(args.items)]   # page()'s bytes
    started = time.time()
    session = requests.Session()
    session.auth = ("admin", "admin")
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(10, args.workers)))
    folder = raw_folder(session, args.url, f"raw-{uuid.uuid4().hex[:10]}")
    if bare:
        template = {"properties": {"cmis:objectTypeId": "cmis:document"}, "add": {}, "remove": {},
                    "versioning_state": None}   # InMemory's cmis:document is not versionable
    else:
        with open(args.template) as fh:
            template = json.load(fh)
    head = [("_charset_", "UTF-8"), ("cmisaction", "createDocument"), ("objectId", folder),
            ("succinct", "true")] + ([("versioningState", template["versioning_state"])]
                                     if template["versioning_state"] else [])
    properties = {k: v for k, v in template["properties"].items() if k != "cmis:name"}
    fields = []
    for index, (prop, value) in enumerate(properties.items()):
        fields.append((f"propertyId[{index}]", prop))
        if isinstance(value, list):
            fields += [(f"propertyValue[{index}][{j}]", v) for j, v in enumerate(value)]
        else:
            fields.append((f"propertyValue[{index}]", value))
    for prefix in ("add", "remove"):
        for i, (principal, perms) in enumerate(sorted(template[prefix].items())):
            fields.append((f"{prefix}ACEPrincipal[{i}]", principal))
            fields += [(f"{prefix}ACEPermission[{i}][{j}]", p) for j, p in enumerate(perms)]
    index = len(properties)
    set_up = time.time()
    failures: list[str] = []

    def create(n: int) -> None:
        data = contents[n]
        own = [("propertyId[%d]" % index, "cmis:name"), ("propertyValue[%d]" % index, f"Raw page {n}.wiki")]
        if not bare:
            own += [("propertyId[%d]" % (index + 1), "sa:sha256"),
                    ("propertyValue[%d]" % (index + 1), hashlib.sha256(data).hexdigest()),
                    ("propertyId[%d]" % (index + 2), "sa:contentLength"),
                    ("propertyValue[%d]" % (index + 2), str(len(data)))]
        form = head + fields + own
        response = session.post(f"{args.url}/A1/root", data=[(k, v.encode()) for k, v in form],
                                files={"content": ("content", data, "text/x-wiki")}, timeout=120)
        if response.status_code >= 300:
            failures.append(response.text[:300])
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(create, range(args.items)))
    filed = time.time()
    if failures:
        raise SystemExit(f"RAW: {len(failures)} creates failed, e.g. {failures[0]}")
    return {"start": imported - args.spawned, "setup": set_up - started, "filing": filed - set_up,
            "requests": args.items + 2, "cpu": _cpu()}


def _cpu() -> float:
    """CPU seconds of this process so far (user + system, every thread): what a version costs us
    beside the wait for the repository, robust to a loaded machine unlike the rates."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the parent ---------------------------------------------------------------------------
def fresh_server(port: int, state: str) -> str:
    """Our own InMemory server on ``port``, restarted empty."""
    up = os.path.join(ROOT, "servers/opencmis/up.sh")
    subprocess.run([up, "stop", state], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([up, "start", str(port), state], check=True, stdout=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}/inmemory/browser"


def child_environment() -> dict[str, str]:
    """The children's environment: bytecode cached (in ``BYTECODE``, not in the checkout), as an
    installed package has it, even where the shell sets PYTHONDONTWRITEBYTECODE. Without a cache
    OURS compiled its ~110 modules in every process (0.08 s of start on this machine) while RAW's
    ``requests`` came compiled from site-packages."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": ROOT, "PYTHONPYCACHEPREFIX": BYTECODE}


def empty_repository(url: str) -> int:
    """Delete every folder under the root of the bench's private server (the warm-up's), with what
    it holds; how many. A bench-only clean-up: the archive itself never deletes."""
    from common import raw_session
    session = raw_session()
    children = session.get(f"{url}/A1/root", params={"cmisselector": "children", "succinct": "true",
                                                      "maxItems": "10000"}, timeout=60).json()
    deleted = 0
    for child in children["objects"]:
        props = child["object"]["succinctProperties"]
        if props["cmis:baseTypeId"] != "cmis:folder":
            continue
        response = session.post(f"{url}/A1/root", data={"cmisaction": "deleteTree", "objectId": props["cmis:objectId"],
                                                        "allVersions": "true", "continueOnFailure": "false"}, timeout=300)
        if response.status_code >= 300:
            raise SystemExit(f"could not empty the bench server: {response.text[:300]}")
        deleted += 1
    return deleted


def spawn(kind: str, url: str, items: int, workers: int, offset: int, size: int, **extra: str) -> dict:
    """Run one contender as a process; its phases plus the wall time from spawn to exit."""
    argv = [sys.executable, os.path.abspath(__file__), "--child", kind, "--url", url, "--items", str(items),
            "--workers", str(workers), "--offset", str(offset), "--size", str(size)]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", value]
    spawned = time.time()
    done = subprocess.run(argv + ["--spawned", repr(spawned)], cwd=ROOT, capture_output=True, text=True,
                          env=child_environment())
    wall = time.time() - spawned
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def report(items: int, workers: int, results: dict[str, list[dict]]) -> list[str]:
    from common import median, table
    med = {name: {phase: median([r[phase] for r in runs]) for phase in ("start", "setup", "filing", "wall", "cpu")}
           for name, runs in results.items()}
    whole = {name: items / m["wall"] for name, m in med.items()}
    per = {name: items / m["filing"] for name, m in med.items()}
    paired = [r["wall"] / o["wall"] for o, r in zip(results["ours"], results["raw"])]
    labels = {"ours": "OURS backfill", "raw": "RAW, same payload", "bare": "RAW, bare creates"}
    rows = []
    for name in CONTENDERS:
        m = med[name]
        rows.append((labels[name], f"{whole[name]:.0f}", f"{per[name]:.0f}", f"{1000 * m['filing'] / items:.2f}",
                     f"{m['start']:.2f}", f"{m['setup']:.2f}", f"{1000 * m['cpu'] / items:.2f}",
                     " ".join(f"{items / r['wall']:.0f}" for r in results[name]),
                     f"{results[name][0]['requests'] / items:.2f}"))
    lines = [f"--workers {workers}",
             table(rows, ("", "whole process/s", "filing/s", "ms/version", "start s", "set-up s", "CPU ms/version",
                          "whole/s per round", "CMIS req/item")),
             f"OURS/RAW same payload: {whole['ours'] / whole['raw']:.2f} whole process, "
             f"{per['ours'] / per['raw']:.2f} filing only   |   OURS/RAW bare creates: "
             f"{whole['ours'] / whole['bare']:.2f} whole process, {per['ours'] / per['bare']:.2f} filing only",
             "OURS/RAW same payload, per round (same server): " + " ".join(f"{r:.2f}" for r in paired)
             + f"; median {median(paired):.2f} whole process"]
    return lines


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--size", type=int, default=3300, help="content bytes per revision (default ~3.3 KB)")
    parser.add_argument("--warm-up", type=int, default=400, help="items each contender files before a round's "
                        "timed runs, deleted again (default 400)")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--state", default=STATE)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.add_argument("--template-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.workers = args.workers[0]
        result = child_ours(args) if args.child == "ours" else child_raw(args, args.child == "bare")
        print(json.dumps(result))
        return
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from common import machine
    out = [f"throughput: {args.items} new revisions of {args.size} bytes, {args.rounds} rounds, each on an empty "
           f"InMemory (127.0.0.1:{args.port}); {machine()}"]
    offset = 0
    try:
        for workers in args.workers:
            results: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
            for r in range(args.rounds):
                url = fresh_server(args.port, args.state)
                template = os.path.join(tempfile.mkdtemp(prefix="sa-bench-"), "template.json")
                offset += 10 ** 6
                warm_up = {"ours": {"template_out": template}, "raw": {"template": template}, "bare": {}}
                for name, extra in warm_up.items():   # OURS first (it writes the template), then deleted
                    offset += 10 ** 5
                    spawn(name, url, max(args.warm_up, 20), workers, offset, args.size, **extra)
                empty_repository(url)
                order = CONTENDERS[r % 3:] + CONTENDERS[:r % 3]
                for name in order:
                    offset += 10 ** 5
                    results[name].append(spawn(name, url, args.items, workers, offset, args.size,
                                               **({"template": template} if name == "raw" else {})))
                print(f"--workers {workers} round {r + 1}: " + ", ".join(
                    f"{name} {args.items / results[name][-1]['wall']:.0f}/s" for name in order), file=sys.stderr)
            out += report(args.items, workers, results)
    finally:
        subprocess.run([os.path.join(ROOT, "servers/opencmis/up.sh"), "stop", args.state], stdout=subprocess.DEVNULL)
    print("\n".join(out))


if __name__ == "__main__":
    main()
