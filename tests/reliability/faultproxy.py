"""A fault-injecting reverse proxy for the reliability tests (stdlib only: http.server + http.client).

Put it in front of a real upstream (OpenCMIS, MediaWiki) and point the connector at the proxy's
port. Every request is forwarded unless the seeded RNG picks a fault for it::

    proxy = FaultProxy("http://127.0.0.1:8090", seed=7, rate=0.2).start()
    url = proxy.url("/inmemory/browser")        # give this URL to the connector
    ...
    proxy.stop(); proxy.injected                # Counter of faults by kind

Fault kinds (``KINDS``; ``weights`` chooses among them once a request is picked at ``rate``):

- before the upstream sees the request: ``503``, ``500``, ``429`` (with ``Retry-After``),
  ``reset`` (TCP RST, no answer), ``timeout`` (no answer for ``hang`` seconds, longer than the
  client's read timeout, then the connection closes);
- after the upstream processed it (the dangerous ones for writes: the repository did the work, the
  client never hears of it): ``reset_after``, ``502_after``, ``timeout_after``.

``rewrite(method, path, body) -> body`` (optional) changes a request body before it is forwarded:
a repository that stores other bytes than were sent (an upload cut on the way).

``slow`` (at ``slow_rate``, independent of faults) delays a request by ``slow_delay`` seconds and
forwards it: not a failure.

``rules`` force a fault for matching requests regardless of the RNG: ``(predicate, kind)`` where
``predicate(method, path, body) -> bool``; ``outage()`` answers every request with 503 (or
resets it) until ``restore()``.

The upstream's absolute URLs in text answers (MediaWiki's file URLs) are rewritten to the proxy,
so streamed downloads pass through it too. Request bodies sent with chunked transfer encoding (the
connector's streamed uploads) are de-chunked and forwarded with a Content-Length.
"""
from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

KINDS = ("503", "500", "429", "reset", "timeout", "reset_after", "502_after", "timeout_after")
DEFAULT_WEIGHTS = {"503": 4, "500": 2, "429": 2, "reset": 4, "timeout": 1,
                   "reset_after": 4, "502_after": 4, "timeout_after": 1}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "content-length", "accept-encoding"}

Predicate = Callable[[str, str, bytes], bool]


class FaultProxy:
    def __init__(self, upstream: str, *, seed: int, rate: float = 0.0, weights: dict[str, float] | None = None,
                 retry_after: int = 1, hang: float = 4.0, slow_rate: float = 0.0, slow_delay: float = 0.3,
                 rules: list[tuple[Predicate, str]] | None = None,
                 rewrite: Callable[[str, str, bytes], bytes] | None = None):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.rng = random.Random(seed)
        self.rate = rate
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.retry_after, self.hang = retry_after, hang
        self.slow_rate, self.slow_delay = slow_rate, slow_delay
        self.rules = list(rules or [])
        self.rewrite = rewrite
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.by_method: Counter[str] = Counter()
        self.slowed = 0
        self._outage: str | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- control ------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(_Handler):
            owner = proxy
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def outage(self, kind: str = "503") -> None:
        with self._lock:
            self._outage = kind

    def restore(self) -> None:
        with self._lock:
            self._outage = None

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self.rate = rate

    @property
    def failures(self) -> int:
        return sum(self.injected.values())

    # --- decisions ----------------------------------------------------------------------
    def decide(self, method: str, path: str, body: bytes) -> tuple[str | None, bool]:
        """(fault kind or None, slow?) for one request; the RNG is drawn under a lock."""
        with self._lock:
            self.requests += 1
            if self._outage:
                self.injected[f"outage_{self._outage}"] += 1
                return self._outage, False
            for predicate, kind in self.rules:
                if predicate(method, path, body):
                    self.injected[f"rule_{kind}"] += 1
                    return kind, False
            slow = self.rng.random() < self.slow_rate
            self.slowed += slow
            if self.rng.random() >= self.rate:
                return None, slow
            kinds = [k for k in KINDS if self.weights.get(k)]
            kind = self.rng.choices(kinds, [self.weights[k] for k in kinds])[0]
            self.injected[kind] += 1
            self.by_method[method] += 1
            return kind, slow


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def do_GET(self):
        self._proxy()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _proxy(self) -> None:
        proxy = self.owner
        try:
            body = self._body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        fault, slow = proxy.decide(self.command, self.path, body)
        if slow:
            time.sleep(proxy.slow_delay)
        if fault in ("503", "500", "429"):
            headers = {"Retry-After": str(proxy.retry_after)} if fault == "429" else {}
            self._answer(int(fault), f"injected {fault}".encode(), "text/plain", headers)
            return
        if fault == "reset":
            self._reset()
            return
        if fault == "timeout":
            self._hang()
            return
        if proxy.rewrite is not None:
            body = proxy.rewrite(self.command, self.path, body)
        try:
            status, headers, data = self._forward(body)
        except OSError:
            self._answer(502, b"upstream unreachable", "text/plain")
            return
        if fault == "reset_after":
            self._reset()
            return
        if fault == "502_after":
            self._answer(502, b"injected 502 after the upstream answered", "text/plain")
            return
        if fault == "timeout_after":
            self._hang()
            return
        self._answer(status, data, None, headers)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.owner
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            headers["Accept-Encoding"] = "identity"
            conn.request(self.command, self.path, body=body if body or self.command != "GET" else None,
                         headers=headers)
            response = conn.getresponse()
            data = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            kind = response.getheader("Content-Type", "")
            if kind.startswith(("application/json", "text/")) and proxy.upstream_origin.encode() in data:
                data = data.replace(proxy.upstream_origin.encode(), proxy.origin.encode())
                data = data.replace(proxy.upstream_origin.replace("/", "\\/").encode(),
                                    proxy.origin.replace("/", "\\/").encode())
            return response.status, out, data
        finally:
            conn.close()

    def _answer(self, status: int, data: bytes, content_type: str | None,
                headers: dict[str, str] | list[tuple[str, str]] | None = None) -> None:
        try:
            self.send_response(status)
            items = headers.items() if isinstance(headers, dict) else (headers or [])
            for key, value in items:
                self.send_header(key, value)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with a TCP RST: the client sees 'connection reset by peer'."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _hang(self) -> None:
        time.sleep(self.owner.hang)
        self._reset()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
