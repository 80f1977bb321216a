import json

from connector.audit import AuditLog, verify_chain


def test_chain_verifies_and_detects_an_edited_line(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    log = AuditLog(path)
    for n in range(5):
        log.append("file", key=f"wiki/page/{n}", sha256="ab" * 32)
    assert verify_chain(path) == []
    AuditLog(path).append("run")  # a new process continues the chain
    assert verify_chain(path) == []

    lines = open(path).read().splitlines()
    entry = json.loads(lines[2])
    entry["key"] = "wiki/page/999"
    lines[2] = json.dumps(entry, sort_keys=True)
    open(path, "w").write("\n".join(lines) + "\n")
    problems = verify_chain(path)
    assert problems and problems[0].startswith("line 3: entry was altered")


def test_removed_line_is_detected(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    log = AuditLog(path)
    for n in range(3):
        log.append("file", key=str(n))
    lines = open(path).read().splitlines()
    open(path, "w").write("\n".join([lines[0], lines[2]]) + "\n")
    assert any("previous hash" in p for p in verify_chain(path))


def test_a_process_killed_inside_a_batch_leaves_whole_entries_and_an_intact_chain(tmp_path):
    """A group commit's entries are written together at the batch's end: a kill before that loses
    them all (their ledger rows were not committed either: the next run recovers those versions by
    key), never a part of one, even when the batch is far larger than a file buffer."""
    import os
    import subprocess
    import sys
    path = str(tmp_path / "audit.jsonl")
    child = ("import os, signal, sys; from connector.audit import AuditLog\n"
             "log = AuditLog(sys.argv[1]); log.append('run'); log.append('run')\n"
             "with log.batch():\n"
             "    for n in range(200): log.append('file', key=f'wiki/page/{n}', note='x' * 500)\n"
             "    os.kill(os.getpid(), signal.SIGKILL)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", child, path], cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert done.returncode == -9
    assert [json.loads(line)["event"] for line in open(path)] == ["run", "run"]
    assert verify_chain(path) == []
    log = AuditLog(path)                      # nothing torn: no repair entry; the chain goes on
    with log.batch():
        log.append("recovered", key="wiki/page/0")
    assert [json.loads(line)["seq"] for line in open(path)] == [1, 2, 3] and verify_chain(path) == []
