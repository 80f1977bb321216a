"""`socialarchive check` on the real WordPress and OpenCMIS InMemory servers: every system is probed
and reported even when others fail, and the exit code is the one `sync` gives for the same failure
(4 unreachable or unresolvable, 5 credentials refused), the most severe one winning."""
from __future__ import annotations

import json
import socket
import textwrap

import pytest
from click.testing import CliRunner

from cli import main

from ..conftest import write_config
from ..sources.test_wordpress import STATE as WP_STATE, URL as WP_URL
from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress, seeded

pytestmark = pytest.mark.integration

# no backoff: the closed port's retries must not make the test wait
FAST_HTTP = "\n[http]\nbackoff_initial = 0\nbackoff_jitter = 0\n"


def blog(name: str, url: str, password_file: str = f"{WP_STATE}/app_password") -> str:
    return textwrap.dedent(f"""
        [sources.{name}]
        type = "wordpress"
        base_url = "{url}"
        username = "admin"
        app_password_file = "{password_file}"
    """)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(tmp_path, cmis_url: str, sources: str):
    path = write_config(tmp_path, cmis_url, sources=sources)
    with open(path, "a") as fh:
        fh.write(FAST_HTTP)
    text = CliRunner().invoke(main, ["check", "--config", path])
    found = CliRunner().invoke(main, ["check", "--json", "--config", path])
    assert found.exit_code == text.exit_code, (found.output, text.output)
    assert "Traceback" not in text.output + found.output
    return text, json.loads(found.stdout)


def test_an_unreachable_or_unresolvable_source_is_4_and_the_others_are_still_probed(wp, tmp_path, cmis_url):  # noqa: F811
    port = closed_port()
    text, found = check(tmp_path, cmis_url, blog("blog", WP_URL) + blog("closed", f"http://127.0.0.1:{port}")
                        + blog("nowhere", "http://blog.example.invalid"))
    assert text.exit_code == 4, text.output
    assert "repository A1: Apache-Chemistry-OpenCMIS-InMemory" in text.output
    lines = {line.split(" ", 2)[1]: line for line in text.stdout.splitlines() if line.startswith("source ")}
    assert lines["blog"].startswith("source blog (wordpress): ") and "UNAVAILABLE" not in lines["blog"]
    assert lines["closed"].startswith("source closed (wordpress): UNAVAILABLE: ") and f":{port}" in lines["closed"]
    assert lines["nowhere"] == "source nowhere (wordpress): UNAVAILABLE: cannot resolve host blog.example.invalid"
    retries = [line for line in text.stderr.splitlines() if "retry" in line]
    assert retries and not [line for line in retries if "example.invalid" in line]  # the port is retried, the name not
    by_name = {s["source"]: s for s in found["sources"]}
    assert by_name["blog"]["ok"] and found["repository"]["ok"]
    assert [(by_name[n]["ok"], by_name[n]["exit_code"]) for n in ("closed", "nowhere")] == [(False, 4), (False, 4)]


def test_the_sources_are_probed_while_the_repository_is_down(wp, tmp_path):  # noqa: F811
    down = f"http://127.0.0.1:{closed_port()}/inmemory/browser"
    text, found = check(tmp_path, down, blog("blog", WP_URL))
    assert text.exit_code == 4, text.output
    first, *rest = text.stdout.splitlines()
    assert first.startswith(f"repository {down}: UNAVAILABLE: ")
    assert [line for line in rest if line.startswith("source blog (wordpress): ")] and text.stdout.count("UNAVAILABLE") == 1
    assert found["repository"]["ok"] is False and found["repository"]["exit_code"] == 4
    assert [(s["source"], s["ok"]) for s in found["sources"]] == [("blog", True)]


def test_refused_credentials_are_5_even_when_the_repository_is_down(wp, tmp_path):  # noqa: F811
    wrong = tmp_path / "wrong-app-password"
    wrong.write_text("abcd efgh ijkl mnop qrst uvwx\n")
    down = f"http://127.0.0.1:{closed_port()}/inmemory/browser"
    text, found = check(tmp_path, down, blog("blog", WP_URL, str(wrong)))
    assert text.exit_code == 5, text.output
    assert "source blog (wordpress): REFUSED: " in text.output and "abcd" not in text.output
    assert found["repository"]["exit_code"] == 4 and found["sources"][0]["exit_code"] == 5


def test_sync_gives_the_same_code_and_words_for_a_name_that_does_not_resolve(tmp_path, cmis_url):
    path = write_config(tmp_path, cmis_url, sources=blog("nowhere", "http://blog.example.invalid"))
    result = CliRunner().invoke(main, ["sync", "--config", path])
    assert result.exit_code == 4, result.output
    assert "cannot resolve host blog.example.invalid" in result.output and "retry" not in result.output
