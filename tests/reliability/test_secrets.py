"""Secrets never leave their files: a run with seeded secrets (a distinctive CMIS password through
``password_env``, the real MediaWiki bot password and WordPress application password, the Misago
password, a Discourse API key on fixtures), at DEBUG, through the CLI and in-process, with failures
on purpose (wrong passwords, an unreachable repository) -> no secret in stdout/stderr, logs, the
ledger, the audit log, the metrics file, the reports, exception messages, or the archived records.

And TLS: verification is on unless ``verify_tls = false``, which is warned about on every run.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import responses

from connector import config
from connector.archive import Archive
from connector.errors import ConnectorError
from connector.pipeline import Pipeline

from ..conftest import write_config
from .conftest import FAST_HTTP, ROOT

pytestmark = pytest.mark.integration


def _forms(secret: str) -> set[str]:
    """The secret as it could leak: plain, URL-encoded, in a Basic header, JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    for user in ("admin", "Admin@connector", "archivist"):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return {f for f in forms if len(f) >= 6}


def test_retry_logs_and_errors_never_carry_a_query_string(caplog):
    """Found here: the retry warning logged the requests error's own text, whose URL keeps the query
    (a token in a query string went to the log). Now errors are named by type, method, safe URL."""
    from connector import http
    session = http.make_session("test")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ConnectorError) as caught:
            http.retrying(lambda: session.get("http://127.0.0.1:9/api.php?action=x&token=SeCrEt-T0ken"),
                          attempts=3, sleep=lambda s: None)
    text = str(caught.value) + "\n".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1:9/api.php" in text and "retry 2 after ConnectionError" in text
    assert "SeCrEt" not in text and "token=" not in text


def test_the_leak_detector_sees_every_form():
    secret = "p@ss word/+x"
    for blob in (secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(f"admin:{secret}".encode()),
                 json.dumps({"a": secret + "\n"})):
        assert _leaks(f"...{blob.decode() if isinstance(blob, bytes) else blob}...", {"s": secret}), blob
    assert _leaks("nothing here", {"s": secret}) == []


def _leaks(blob: bytes | str, secrets: dict[str, str]) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    return [name for name, secret in secrets.items() for form in _forms(secret) if form in text]


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=ROOT, capture_output=True,
                          timeout=300)


@pytest.fixture
def secrets_setup(tmp_path, cmis_url, monkeypatch):
    from ..sources.test_mediawiki import API as MW_API, STATE as MW_STATE, BOT_USER, Wiki
    from ..sources.test_misago import ADMIN, URL as MISAGO_URL
    from ..sources.test_wordpress import URL as WP_URL, STATE as WP_STATE, Admin
    if not (MW_API and WP_URL and MISAGO_URL):
        pytest.skip("needs the real MediaWiki, WordPress and Misago (make test starts them)")
    bot = Path(MW_STATE, "botpassword").read_text().strip()
    app = Path(WP_STATE, "app_password").read_text().strip()
    secrets = {"cmis password": f"Cmis-S3cret-{uuid.uuid4().hex[:12]}", "mediawiki bot password": bot,
               "wordpress application password": app, "misago password": ADMIN[1]}
    tag = uuid.uuid4().hex[:8]
    wiki = Wiki(MW_API, BOT_USER, bot)
    t0 = wiki.server_time() - timedelta(seconds=1)
    wiki.edit(f"MediaWiki talk:SA secrets {tag}", f"secret-free text {tag}")
    wp = Admin(app)
    wp.post(title=f"Secrets {tag}", status="private")
    (tmp_path / "forum-password").write_text(ADMIN[1])
    sources = textwrap.dedent(f"""
        [sources.wiki]
        type = "mediawiki"
        api_url = "{MW_API}"
        username = "{BOT_USER}"
        password_file = "{MW_STATE}/botpassword"
        namespaces = [9]
        [sources.blog]
        type = "wordpress"
        base_url = "{WP_URL}"
        username = "admin"
        app_password_file = "{WP_STATE}/app_password"
        [sources.forum]
        type = "misago"
        base_url = "{MISAGO_URL}"
        username = "admin"
        password_file = "forum-password"
        public_categories = ["Engineering"]
    """)
    path = Path(write_config(tmp_path, cmis_url, sources=sources))
    path.write_text(path.read_text().replace('password_file = "cmis-password"', 'password_env = "SA_REL_CMIS_PASSWORD"')
                    + FAST_HTTP)
    monkeypatch.setenv("SA_REL_CMIS_PASSWORD", secrets["cmis password"])
    cfg_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cfg = config.load(str(path))
    from connector.store import Ledger
    ledger = Ledger(cfg.ledger_path)
    now = datetime.now(timezone.utc)
    ledger.save_source_state("wiki", {"checkpoint": t0.strftime("%Y-%m-%dT%H:%M:%SZ")})
    ledger.save_source_state("blog", {"checkpoint": (now - timedelta(seconds=60)).isoformat(),
                                      "swept_at": now.isoformat()})
    ledger.close()
    return {"path": str(path), "env": cfg_env, "secrets": secrets, "t0": t0, "tmp": tmp_path,
            "sources": sources, "cmis_url": cmis_url}


def test_no_secret_in_any_output_of_a_debug_run_or_its_failures(secrets_setup, figures):
    s = secrets_setup
    path, env, secrets, tmp = s["path"], s["env"], s["secrets"], s["tmp"]
    outputs: dict[str, bytes] = {}
    metrics = tmp / "metrics.prom"

    def run(label: str, args: list[str], expect: set[int] | None, run_env: dict | None = None) -> None:
        done = _cli(args, run_env or env)
        if expect is None:       # a command whose verdict is not the point here: it must not crash
            assert done.returncode not in (1, 2) and b"Traceback" not in done.stderr, (label, done.returncode,
                                                                                     done.stderr.decode()[-3000:])
        else:
            assert done.returncode in expect, (label, done.returncode, done.stderr.decode()[-3000:])
        outputs[f"{label} stdout"], outputs[f"{label} stderr"] = done.stdout, done.stderr

    run("sync", ["sync", "--config", path, "--source", "wiki", "--source", "blog", "-vv",
                 "--metrics-file", str(metrics)], {0, 3})
    run("sync json", ["sync", "--config", path, "--source", "wiki", "-vv", "--log-format", "json", "--json"], {0, 3})
    run("check", ["check", "--config", path, "-vv"], {0})
    run("status", ["status", "--config", path, "--json"], {0})
    run("report", ["report", "--config", path, "--source", "wiki", "--since", s["t0"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "--format", "html", "--out", str(tmp / "report.html"), "-vv"], None)
    run("verify", ["verify", "--config", path, "-vv"], None)

    # failures on purpose: wrong passwords everywhere, then an unreachable repository
    wrong = {"wrong bot password": f"Wrong-Bot-{uuid.uuid4().hex[:10]}",
             "wrong application password": f"Wrong App {uuid.uuid4().hex[:4]} {uuid.uuid4().hex[:4]}",
             "wrong misago password": f"Wrong-Misago-{uuid.uuid4().hex[:8]}"}
    bad_dir = tmp / "bad"
    bad_dir.mkdir()
    for name, var in (("wrong bot password", "SA_REL_BOT"), ("wrong application password", "SA_REL_APP"),
                      ("wrong misago password", "SA_REL_MISAGO")):
        env[var] = wrong[name]
    bad_sources = (s["sources"].replace('password_file = "' + os.environ.get("SA_TEST_MW_STATE", "") + '/botpassword"',
                                        'password_env = "SA_REL_BOT"')
                   .replace('app_password_file = "' + os.environ.get("SA_TEST_WP_STATE", "") + '/app_password"',
                            'app_password_env = "SA_REL_APP"')
                   .replace('password_file = "forum-password"', 'password_env = "SA_REL_MISAGO"'))
    bad = Path(write_config(bad_dir, s["cmis_url"], sources=bad_sources))
    bad.write_text(bad.read_text().replace('password_file = "cmis-password"', 'password_env = "SA_REL_CMIS_PASSWORD"')
                   + FAST_HTTP)
    run("check, wrong passwords", ["check", "--config", str(bad), "-vv"], {5})
    run("sync, wrong passwords", ["sync", "--config", str(bad), "-vv"], {4, 5})
    (tmp / "down").mkdir()
    down = Path(write_config(tmp / "down", "http://127.0.0.1:9/inmemory/browser", sources=bad_sources))
    down.write_text(down.read_text().replace('password_file = "cmis-password"', 'password_env = "SA_REL_CMIS_PASSWORD"')
                    + FAST_HTTP)
    run("sync, repository down", ["sync", "--config", str(down), "-vv"], {4})
    assert b"wiki" in outputs["sync stdout"] and b"blog" in outputs["sync stdout"]
    assert any(b"401" in v or b"credentials" in v or b"password" in v.lower()
               for k, v in outputs.items() if "wrong" in k)        # the failures did happen, and say why

    everything = {**secrets, **wrong}
    found = {label: _leaks(blob, everything) for label, blob in outputs.items()}
    # every file the runs wrote: ledger (+WAL), audit log, metrics, reports, anything else
    secret_files = {Path(os.environ["SA_TEST_MW_STATE"], "botpassword"), tmp / "forum-password"}
    files = [p for p in tmp.rglob("*") if p.is_file() and p not in secret_files and p.suffix != ".toml"]
    assert any(p.name == "ledger.sqlite" for p in files) and any(p.name == "audit.jsonl" for p in files)
    assert metrics.exists() and (tmp / "report.html").exists()
    for file in files:
        found[str(file.relative_to(tmp))] = _leaks(file.read_bytes(), everything)
    # the archived records themselves
    cfg = config.load(path)
    archive = Archive.open(cfg, lock=False)
    try:
        rows = list(archive.repo.query(f"SELECT * FROM sa:document WHERE {archive.filer.in_archive()}",
                                       all_versions=True))
        assert rows
        found["repository properties"] = _leaks(json.dumps(rows, ensure_ascii=False, default=str), everything)
    finally:
        archive.close()
    assert {k: v for k, v in found.items() if v} == {}
    figures["secrets"] = {"secrets": len(everything), "outputs_checked": len(outputs), "files_checked": len(files),
                          "records_checked": len(rows)}


def test_no_discourse_api_key_in_debug_logs_exceptions_or_records(tmp_path, cmis_url, caplog):
    from ..sources.test_discourse import BASE, KEY, FakeTime, register_run1, source
    archive = Archive.open(config.load(write_config(tmp_path, cmis_url)))
    pipeline = Pipeline(archive)
    caught: list[str] = []
    try:
        with caplog.at_level(logging.DEBUG):
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                rsps.add_passthru(cmis_url.split("/inmemory")[0])
                register_run1(rsps)
                summary = pipeline.sync(source(FakeTime()))
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                rsps.add_passthru(cmis_url.split("/inmemory")[0])
                rsps.add(responses.GET, BASE + "/posts.json", status=403, json={"errors": ["invalid api key"]})
                rsps.add(responses.GET, BASE + "/categories.json", status=403, json={"errors": ["invalid api key"]})
                failed = pipeline.sync(source(FakeTime()))
                try:
                    source(FakeTime()).check()
                except ConnectorError as exc:
                    caught.append(f"{exc!r} {exc}")
        rows = list(archive.repo.query(f"SELECT * FROM sa:document WHERE {archive.filer.in_archive()}",
                                       all_versions=True))
    finally:
        archive.close()
    assert summary.outcome in ("ok", "quarantined") and failed.outcome == "fatal" and caught
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 50                            # DEBUG really was on
    blobs = {"logs": logs, "errors": " ".join(caught + failed.errors), "records": json.dumps(rows, default=str),
             "ledger": Path(archive.config.ledger_path).read_bytes(),
             "audit": Path(archive.config.audit_path).read_bytes(), "repr": repr(source(FakeTime()))}
    assert {k: _leaks(v, {"discourse api key": KEY}) for k, v in blobs.items() if _leaks(v, {"k": KEY})} == {}


def test_tls_verification_off_is_warned_on_every_run(tmp_path, cmis_url):
    path = Path(write_config(tmp_path, cmis_url))
    path.write_text(path.read_text().replace('base_path = "', 'verify_tls = false\nbase_path = "', 1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        done = _cli(["sync", "--config", str(path)], env)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert b"TLS certificate verification is OFF" in done.stderr     # every run, not once
    (tmp_path / "default").mkdir()
    default = Path(write_config(tmp_path / "default", cmis_url))
    assert config.load(str(default)).repository.verify_tls is True
    quiet = _cli(["sync", "--config", str(default)], env)
    assert quiet.returncode == 0 and b"TLS certificate verification is OFF" not in quiet.stderr
