"""A repository that lost the archive (issue #17, IT): the run stops before filing anything, with one
message and the way back (`ledger rebuild --replace`), instead of quarantining item by item.

Types lost: a private OpenCMIS InMemory server of this module's own (port 18091, its own state
directory) is restarted, which empties it; the shared test server is never restarted. Folder lost:
the archive's base folder is deleted from the shared server (this test's own folder)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from cli import main
from connector.store import Ledger

from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress
from .helpers import blog_config, iso, seed_dated_posts

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
UP = ROOT / "servers" / "opencmis" / "up.sh"
PORT = 18091
STATE = ROOT / ".state" / "servers" / "opencmis-run"
URL = f"http://127.0.0.1:{PORT}/inmemory/browser"


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def private_server(command: str) -> None:
    args = [str(UP), command] + ([str(PORT)] if command == "start" else []) + [str(STATE)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def restartable(cmis_url):   # cmis_url: the servers are up (make test); this one is our own
    private_server("start")
    yield URL
    private_server("stop")


@pytest.fixture
def dated(wp):  # noqa: F811
    return seed_dated_posts(wp, 3)


def backfill(config: str, dated: dict, code: int = 0):
    return run("backfill", "--config", config, "--source", "blog", "--since", iso(dated["since"]),
               "--until", iso(dated["until"]), code=code)


def quarantined(config_path: str) -> int:
    ledger = Ledger(str(Path(config_path).parent / "state" / "ledger.sqlite"))
    try:
        return ledger.counts()["quarantined"]
    finally:
        ledger.close()


def test_types_lost_stops_the_sync_and_rebuild_replace_starts_afresh(restartable, dated, tmp_path):
    config = blog_config(tmp_path, restartable)
    assert "3 new versions" in backfill(config, dated).output
    private_server("stop")
    private_server("start")          # InMemory keeps nothing: types and folders are gone

    for command in (("sync",), ("backfill", "--source", "blog", "--since", iso(dated["since"]), "--force")):
        result = run(*command, "--config", config, code=5)
        assert "the repository has lost the archive" in result.output
        assert "lacks type sa:document and type sa:archived" in result.output
        assert "socialarchive ledger rebuild --replace" in result.output
        assert "Traceback" not in result.output and result.output.count("error:") == 1
    assert quarantined(config) == 0
    assert requests.get(f"{restartable}/A1", params={"cmisselector": "typeDefinition", "typeId": "sa:document"},
                        auth=("admin", "admin"), timeout=30).status_code == 404   # nothing was created

    result = run("ledger", "rebuild", "--replace", "--json", "--config", config)
    out = result.stdout.strip().splitlines()[-1]
    state = tmp_path / "state"
    aside = [p for p in os.listdir(state) if p.startswith("ledger.sqlite.replaced-")]
    assert len(aside) == 1 and aside[0] in out and '"versions": 0' in out
    old = Ledger(str(state / aside[0]))
    try:
        assert old.counts()["versions"] == 3      # kept, whole
    finally:
        old.close()
    assert "3 new versions" in backfill(config, dated).output      # filed again from the source


def test_base_folder_lost_stops_the_run(cmis_url, dated, tmp_path):
    config = blog_config(tmp_path, cmis_url)
    backfill(config, dated)
    base = next(line.split('"')[1] for line in Path(config).read_text().splitlines() if line.startswith("base_path"))
    folder = requests.get(f"{cmis_url}/A1/root{base}", params={"cmisselector": "object", "succinct": "true"},
                          auth=("admin", "admin"), timeout=30).json()["succinctProperties"]["cmis:objectId"]
    gone = requests.post(f"{cmis_url}/A1/root", auth=("admin", "admin"), timeout=60,
                         data={"cmisaction": "deleteTree", "objectId": folder, "allVersions": "true"})
    assert gone.status_code < 300, gone.text[:300]

    result = backfill(config, dated, code=5)
    assert f"lacks the archive folder {base}" in result.output and "ledger rebuild --replace" in result.output
    assert quarantined(config) == 0
