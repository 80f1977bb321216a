"""Our BagIt writer against the independent validator (bagit-python), and RFC 3161 timestamps
from a local TSA (openssl ts -reply) verified with openssl ts -verify."""
import os
import subprocess

import bagit
import pytest

from connector.compliance.export import BagWriter, ExportError, timestamp
from connector.compliance.settings import Settings
from connector.errors import ConfigError


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
