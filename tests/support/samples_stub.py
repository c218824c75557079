"""A loopback stand-in for the district's ``POST /api/v1/samples``: checks each request's signature
(:mod:`auditor.wire.protocol`) and that the body is a valid ``SampleBatch``, answers with the given
statuses in turn (the last repeats), and stores each accepted batch once by its ``batch_id``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditor.wire.monitoring import SampleBatch
from auditor.wire.protocol import read_headers


@dataclass
class Stub:
    url: str
    statuses: list[int]
    requests: int = 0
    problems: list[str] = field(default_factory=list)  # what a request got wrong (should stay empty)
    batches: dict[str, SampleBatch] = field(default_factory=dict)  # batch_id -> batch, stored once
    duplicates: int = 0


@contextlib.contextmanager
def samples_server(public_key: Ed25519PublicKey, keyid: str, member: str,
                   statuses: list[int]) -> Iterator[Stub]:
    stub = Stub("", statuses)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                stub.requests += 1
                status = stub.statuses[min(stub.requests, len(stub.statuses)) - 1]
                answer = self._judge(body, status)
            data = json.dumps(answer).encode()
            self.send_response(status if "detail" not in answer or status != 200 else 401)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _judge(self, body: bytes, status: int) -> dict[str, Any]:
            try:
                if self.path != "/api/v1/samples":
                    raise ValueError(f"posted to {self.path}")
                signed = read_headers({k.lower(): v for k, v in self.headers.items()}, time.time(), 300)
                if signed.keyid != keyid or signed.member != member:
                    raise ValueError(f"signed as {signed.member} {signed.keyid}")
                signed.check(public_key, "POST", self.path)
                if hashlib.sha256(body).hexdigest() != signed.content_sha256:
                    raise ValueError("the body does not match its signed digest")
                batch = SampleBatch.model_validate_json(body)
            except Exception as exc:
                stub.problems.append(f"{type(exc).__name__}: {exc}")
                return {"detail": str(exc)}
            if status != 200:
                return {"detail": "the database is unavailable"}
            if batch.batch_id in stub.batches:
                stub.duplicates += 1
                return {"accepted": 0, "duplicate": True}
            stub.batches[batch.batch_id] = batch
            return {"accepted": len(batch.samples), "duplicate": False}

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
