"""Fixtures of the end-to-end tests: an archive per test and its run loop. A module that needs
another set-up (module scope, sources in the config) defines its own ``archive``, which wins."""
from __future__ import annotations

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline

from ..conftest import write_config


@pytest.fixture
def archive(request, tmp_path, cmis_url):
    """An archive in its own folder of the shared repository, with the test module's
    ``PERMISSIONS`` table (``shared.permissions``)."""
    arch = Archive.open(config.load(write_config(tmp_path, cmis_url, permissions=request.module.PERMISSIONS)))
    yield arch
    arch.close()


@pytest.fixture
def pipeline(archive):
    """The run loop over ``archive``, one per test (its runs are numbered in the ledger)."""
    return Pipeline(archive)
