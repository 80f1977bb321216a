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
