"""Fixtures for the compliance tests: a local RFC 3161 timestamp authority built on
``openssl ts -reply`` (own CA and TSA certificate, made in a temporary directory), and config
files with a ``[compliance]`` table and classification rules of their own."""
from __future__ import annotations

import http.server
import os
import subprocess
import textwrap
import threading
from dataclasses import dataclass, field
from typing import Callable

import pytest

from ..conftest import write_config

RULES = """
[classification]
default_class = "organisation"
timezone = "Europe/Berlin"

[classes.organisation]
retention = "gobd-10"
description = "records"
[classes.booking-voucher]
retention = "gobd-8"
[classes.business-letter]
retention = "gobd-6"
[classes.short]
years = 3

[[rules]]
name = "invoices"
tags = ["invoice"]
class = "booking-voucher"

[[rules]]
name = "letters"
space = "Correspondence"
class = "business-letter"

[[rules]]
name = "notes"
content = "(?i)short-lived note"
class = "short"

[sensitive]
detectors = ["email", "phone", "iban", "card"]
restrict = ["iban"]
[sensitive.patterns]
employee-id = "EMP-\\\\d{6}"
"""


def compliance_config(tmp_path, cmis_url: str, *, rules: str = RULES, extra: str = "", base_path=None) -> str:
    """A test config (own ledger, own base folder) with its own classification rules file."""
    (tmp_path / "classes.toml").write_text(rules)
    table = textwrap.dedent("""
        [compliance]
        classification = "classes.toml"
    """) + textwrap.dedent(extra)
    return write_config(tmp_path, cmis_url, sources=table, base_path=base_path)


def _openssl(*args, cwd=None) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@dataclass
class LocalTsa:
    url: str
    ca_file: str
    directory: str
    requests: list[bytes] = field(default_factory=list)
    # what the TSA stamps instead of the query it received (tests of a reply bound to another
    # request); None: the query itself
    rewrite: Callable[[bytes], bytes] | None = None


@pytest.fixture(scope="session")
def tsa(tmp_path_factory):
    """A timestamp authority on 127.0.0.1: CA + TSA certificate (extendedKeyUsage critical,
    timeStamping) made here, replies made by `openssl ts -reply`."""
    d = str(tmp_path_factory.mktemp("tsa"))
    _openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "3", "-subj", "/CN=socialarchive test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", "/CN=socialarchive test TSA", cwd=d)
    with open(os.path.join(d, "tsa-ext.cnf"), "w") as fh:
        fh.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
                 "extendedKeyUsage=critical,timeStamping\n")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "tsa.crt", "-days", "3", "-extfile", "tsa-ext.cnf", cwd=d)
    with open(os.path.join(d, "tsaserial"), "w") as fh:
        fh.write("01\n")
    with open(os.path.join(d, "tsa.cnf"), "w") as fh:
        fh.write(textwrap.dedent(f"""
            [ tsa ]
            default_tsa = tsa_config
            [ tsa_config ]
            dir = {d}
            serial = $dir/tsaserial
            crypto_device = builtin
            signer_cert = $dir/tsa.crt
            certs = $dir/ca.crt
            signer_key = $dir/tsa.key
            signer_digest = sha256
            default_policy = 1.2.3.4.1
            other_policies = 1.2.3.4.5.6
            digests = sha256, sha384, sha512
            accuracy = secs:1
            clock_precision_digits = 0
            ordering = yes
            tsa_name = yes
            ess_cert_id_chain = no
            ess_cert_id_alg = sha256
        """))
    lock = threading.Lock()
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            with lock:
                received.append(body)
                query, reply = os.path.join(d, "q.tsq"), os.path.join(d, "r.tsr")
                with open(query, "wb") as fh:
                    fh.write(local.rewrite(body) if local.rewrite else body)
                done = subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(d, "tsa.cnf"),
                                       "-queryfile", query, "-out", reply], capture_output=True)
                if done.returncode != 0:
                    self.send_response(500)
                    self.end_headers()
                    return
                with open(reply, "rb") as fh:
                    data = fh.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    local = LocalTsa(url=f"http://127.0.0.1:{server.server_address[1]}/tsr", ca_file=os.path.join(d, "ca.crt"),
                     directory=d, requests=received)
    yield local
    server.shutdown()
    server.server_close()
