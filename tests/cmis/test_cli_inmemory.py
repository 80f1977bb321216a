"""CLI commands that need only the repository, on the real OpenCMIS InMemory server."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.archive import Archive

from ..conftest import write_config
from .test_filer_inmemory import file, page

pytestmark = pytest.mark.integration


def test_check_reports_capabilities(tmp_path, cmis_url):
    path = write_config(tmp_path, cmis_url)
    result = CliRunner().invoke(main, ["check", "--config", path])
    assert result.exit_code == 0, result.output
    assert "repository A1: Apache-Chemistry-OpenCMIS-InMemory/1.1.0 1.1.0, CMIS 1.1" in result.output
    assert "ACL: manage" in result.output and "world principal: anyone" in result.output


def test_ledger_rebuild_restores_every_version(tmp_path, cmis_url):
    path = write_config(tmp_path, cmis_url)
    cfg = config.load(path)
    archive = Archive.open(cfg)
    items = [page("1", revisions=3, attachments=1), page("2", "Other", revisions=2)]
    for item in items:
        file(archive, item)
    before = {item.key: archive.ledger.filed_revisions(item.key) for item in items}
    access = {item.key: archive.ledger.record(item.key)["visibility"] for item in items}
    archive.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(cfg.ledger_path + suffix):
            os.remove(cfg.ledger_path + suffix)

    result = CliRunner().invoke(main, ["ledger", "rebuild", "--config", path])
    assert result.exit_code == 0, result.output
    assert "3 records, 6 versions" in result.output
    archive = Archive.open(config.load(path))
    try:
        assert {item.key: archive.ledger.filed_revisions(item.key) for item in items} == before
        assert {item.key: archive.ledger.record(item.key)["visibility"] for item in items} == access
        requests = archive.repo.request_count
        again = file(archive, items[0])
        # nothing re-filed after the rebuild, and no ACL taken for changed: not one request
        assert (again.versions, again.acl_changes, archive.repo.request_count - requests) == (0, 0, 0)
    finally:
        archive.close()


def test_second_sync_on_same_ledger_is_refused(tmp_path, cmis_url):
    path = write_config(tmp_path, cmis_url)
    first = Archive.open(config.load(path))
    try:
        result = CliRunner().invoke(main, ["sync", "--config", path])
        assert result.exit_code == 6 and "another socialarchive run holds" in result.output
    finally:
        first.close()
