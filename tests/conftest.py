"""Shared fixtures. Integration tests talk to the real servers that `make test` starts
(OpenCMIS InMemory 1.1.0, MediaWiki, WordPress, Misago) and find them through SA_TEST_* variables.
Without the variables those tests are skipped with a reason; with them, an unreachable server is a
failure, never a skip."""
from __future__ import annotations

import os
import textwrap
import uuid

import pytest
import requests


def _require(var: str, what: str) -> str:
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"set {var} to run against a real {what} (make test does)")
    return url


@pytest.fixture(scope="session")
def cmis_url() -> str:
    url = _require("SA_TEST_CMIS_URL", "OpenCMIS InMemory server")
    try:
        requests.get(url, auth=("admin", "admin"), timeout=10).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"SA_TEST_CMIS_URL={url} is set but the CMIS server does not answer: {exc}")
    return url


# SA_TEST_CMIS_BINDING=atompub (with SA_TEST_CMIS_URL=.../inmemory/atom11) runs the suites over
# the AtomPub binding; .ci/run does so for tests/e2e and tests/cmis after the Browser-binding run.
BINDING = os.environ.get("SA_TEST_CMIS_BINDING") or "browser"


def write_config(tmp_path, cmis_url: str, *, sources: str = "", permissions: str | None = None,
                 base_path: str | None = None) -> str:
    """A config file for one test: its own ledger and its own folder in the shared repository.
    ``SA_TEST_CMIS_PROFILE`` (default ``opencmis-inmemory``) runs the suites in another mode, e.g.
    ``opencmis-inmemory-cmis10`` against a server started with our CMIS 1.0 type
    (``CMIS_TYPES=docker/cmis10/socialarchive-types.xml servers/opencmis/up.sh start PORT DIR``)."""
    base_path = base_path or f"/test-{uuid.uuid4().hex[:10]}"
    (tmp_path / "cmis-password").write_text("admin\n")
    permissions = permissions if permissions is not None else textwrap.dedent("""
        [permissions]
        archive_admins = ["admin"]
        restricted_readers = ["GROUP_records"]
        [permissions.principals]
        "group:sysop" = "GROUP_wiki_admins"
        "role:editor" = "GROUP_editors"
    """)
    text = textwrap.dedent(f"""
        [repository]
        url = "{cmis_url}"
        repository_id = "A1"
        binding = "{BINDING}"
        profile = "{os.environ.get('SA_TEST_CMIS_PROFILE') or 'opencmis-inmemory'}"
        username = "admin"
        password_file = "cmis-password"
        base_path = "{base_path}"

        [state]
        ledger = "state/ledger.sqlite"
    """) + permissions + sources
    path = tmp_path / "socialarchive.toml"
    path.write_text(text)
    return str(path)
