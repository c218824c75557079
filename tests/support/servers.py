"""Real servers on loopback for the notification tests: SMTP with STARTTLS and login (aiosmtpd),
HTTP that records what it is posted, a throw-away self-signed certificate, a free port."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Posts = list[tuple[dict[str, str], bytes]]


def self_signed_cert(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files in ``tmp``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "smtp.pem", tmp / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """What the SMTP server accepted, and every login it saw (``user``/``password`` succeed)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.user, self.password)
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "?", ok))
        if ok:
            return AuthResult(success=True)
        # a careless server that echoes what it was sent: a notice's error must still be masked
        password = data.password.decode() if isinstance(data, LoginPassword) else ""
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad password {password}")


@contextlib.contextmanager
def smtp_server(tmp: Path, user: str, password: str) -> Iterator[tuple[int, Path, Mailbox]]:
    """aiosmtpd on 127.0.0.1: STARTTLS required before anything else, login required.
    Yields (port, the certificate the client must trust, the mailbox)."""
    cert, key = self_signed_cert(tmp)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    box = Mailbox(user, password)
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=box.authenticate, auth_required=True)
    ctl.start()
    try:
        yield port, cert, box
    finally:
        ctl.stop()


@contextlib.contextmanager
def http_server(statuses: list[int], path: str = "/hooks/auditor") -> Iterator[tuple[str, Posts]]:
    """An HTTP server on 127.0.0.1 answering POSTs with ``statuses`` in turn (the last repeats).
    Yields (the URL to post to, the list of (headers, body) it received)."""
    posts: Posts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(statuses[min(len(posts), len(statuses)) - 1])
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}", posts
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
