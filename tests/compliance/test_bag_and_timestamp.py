"""Our BagIt writer against the independent validator (bagit-python), and RFC 3161 timestamps
from a local TSA (openssl ts -reply) verified with openssl ts -verify."""
import hashlib
import os
import subprocess

import bagit
import pytest
import responses

from connector import config
from connector.compliance.export import BagWriter, ExportError, timestamp
from connector.compliance.settings import Settings, settings
from connector.errors import ConfigError

from .conftest import compliance_config


def test_bag_written_by_our_code_validates(tmp_path):
    out = tmp_path / "bag"
    bag = BagWriter(str(out))
    bag.add_stream("records/wiki/page/42/v1.0.wiki", iter([b"== A ==\n", b"", b"body\n"]))
    bag.add_bytes("records/wiki/page/42/metadata.json", b"{}")
    bag.add_bytes("odd names/Grüße \u00e9 [1].txt", b"x")
    bag.finish([("Socialarchive-Records", "1"), ("External-Description", "multi\nline")])
    checked = bagit.Bag(str(out))
    checked.validate()                                   # raises BagValidationError when anything is off
    assert checked.info["Payload-Oxum"] == f"{8 + 5 + 2 + 1}.3"
    assert checked.info["External-Description"] == "multi line"
    assert "data/odd names/Grüße \u00e9 [1].txt" in (out / "manifest-sha256.txt").read_text()
    (out / "data/records/wiki/page/42/v1.0.wiki").write_bytes(b"tampered")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(out)).validate()


def test_bag_never_overwrites(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not an empty directory"):
        BagWriter(str(tmp_path / "full"))
    bag = BagWriter(str(tmp_path / "bag"))
    bag.add_bytes("a.txt", b"1")
    with pytest.raises(FileExistsError):
        bag.add_bytes("a.txt", b"2")
    with pytest.raises(ValueError):
        bag.add_bytes("../escape.txt", b"x")


def test_timestamp_from_a_local_tsa_verifies(tmp_path, tsa):
    data = tmp_path / "tagmanifest-sha256.txt"
    data.write_text("abc  bagit.txt\n")
    token = timestamp(str(data), Settings(classification_path="", tsa_url=tsa.url, tsa_ca_file=tsa.ca_file))
    (tmp_path / "t.tsr").write_bytes(token)
    out = subprocess.run(["openssl", "ts", "-verify", "-in", str(tmp_path / "t.tsr"), "-data", str(data),
                          "-CAfile", tsa.ca_file], capture_output=True, text=True)
    assert "Verification: OK" in out.stdout + out.stderr
    data.write_text("abc  bagit.txt\nchanged\n")
    out = subprocess.run(["openssl", "ts", "-verify", "-in", str(tmp_path / "t.tsr"), "-data", str(data),
                          "-CAfile", tsa.ca_file], capture_output=True, text=True)
    assert out.returncode != 0 and "Verification: OK" not in out.stdout


def test_timestamp_from_an_untrusted_tsa_is_refused(tmp_path, tsa):
    data = tmp_path / "f"
    data.write_text("x")
    other = tmp_path / "other-ca"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "k", "-out", "c",
                    "-days", "1", "-subj", "/CN=other"], cwd=other, check=True, capture_output=True)
    with pytest.raises(ExportError, match="does not verify"):
        timestamp(str(data), Settings(classification_path="", tsa_url=tsa.url, tsa_ca_file=str(other / "c")))
    assert os.path.exists(tsa.ca_file)


@pytest.fixture
def forging_tsa(tsa):
    """The local TSA, made to stamp something else than it was asked to for one test."""
    yield tsa
    tsa.rewrite = None


def test_a_token_for_other_data_is_refused_from_any_tsa(tmp_path, forging_tsa):
    """A granted, validly signed token whose imprint is another file's hash: refused without a CA
    file configured (nothing else could tell), and with one."""
    data = tmp_path / "tagmanifest-sha256.txt"
    data.write_bytes(b"abc  bagit.txt\n")
    ours, other = hashlib.sha256(data.read_bytes()).digest(), hashlib.sha256(b"other data").digest()
    forging_tsa.rewrite = lambda query: query.replace(ours, other)     # the nonce stays the request's
    for ca_file in (None, forging_tsa.ca_file):
        with pytest.raises(ExportError, match="is for other data: its message imprint is sha256 "
                                              f"{other.hex()}, not the SHA-256 of tagmanifest-sha256.txt"):
            timestamp(str(data), Settings(classification_path="", tsa_url=forging_tsa.url, tsa_ca_file=ca_file))
    assert len([q for q in forging_tsa.requests if ours in q]) >= 2


def test_a_reply_with_another_nonce_is_refused(tmp_path, forging_tsa):
    """A replay: the TSA answers an older request for the same data (same imprint, its own nonce)."""
    data = tmp_path / "tagmanifest-sha256.txt"
    data.write_bytes(b"abc  bagit.txt\n")
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(tmp_path / "old.tsq")],
                   check=True, capture_output=True)
    forging_tsa.rewrite = lambda query: (tmp_path / "old.tsq").read_bytes()
    with pytest.raises(ExportError, match=r"answers another request: nonce 0x[0-9a-f]+, sent 0x[0-9a-f]+"):
        timestamp(str(data), Settings(classification_path="", tsa_url=forging_tsa.url))
    forging_tsa.rewrite = None
    assert timestamp(str(data), Settings(classification_path="", tsa_url=forging_tsa.url))   # bound: stored


def test_credentials_are_never_sent_to_a_tsa_over_plain_http(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_TEST_TSA_PASSWORD", "tsa-s3cret")
    for extra in ('tsa_url = "http://tsa.example/tsr"\ntsa_username = "archive"\n',
                  'tsa_url = "http://tsa.example/tsr"\ntsa_password_env = "SA_TEST_TSA_PASSWORD"\n'):
        path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser", extra=extra)
        with pytest.raises(ConfigError, match="credentials are only sent over https"):
            settings(config.load(path))
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser",
                             extra='tsa_url = "https://tsa.example/tsr"\ntsa_username = "archive"\n'
                                   'tsa_password_env = "SA_TEST_TSA_PASSWORD"\n')
    assert settings(config.load(path)).tsa_password == "tsa-s3cret"


def test_a_redirect_from_the_tsa_is_not_followed(tmp_path):
    data = tmp_path / "f"
    data.write_text("x")
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://tsa.example/tsr", status=302,
                 headers={"Location": "http://elsewhere.example/tsr"})
        with pytest.raises(ExportError, match="refused the request: HTTP 302"):
            timestamp(str(data), Settings(classification_path="", tsa_url="https://tsa.example/tsr",
                                          tsa_username="archive", tsa_password="tsa-s3cret"))
        assert len(mock.calls) == 1
