"""Helpers for tests, benchmarks and the demo: run the real CLI and a real server on loopback.

No pytest here (the package does not depend on it). ``cli(...)`` runs the installed ``auditor`` in
a child process; ``Server`` starts ``auditor district serve`` on a free loopback
port (HTTPS with a throw-away CA from ``tlsgen``), waits until it answers, and can be stopped or
killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def cli_argv(*args: str) -> list[str]:
    """The argv of ``auditor ARGS``: the command installed beside this Python."""
    return [str(Path(sys.executable).parent / "auditor"), *args]


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``auditor ARGS`` and capture its output."""
    return subprocess.run(
        cli_argv(*args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """``auditor district serve`` in a child process on 127.0.0.1."""

    home: Path
    tls_dir: Path | None = None
    workers: int = 1
    port: int = field(default_factory=free_port)
    log: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_dir else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path | None:
        return self.tls_dir / "district-ca.pem" if self.tls_dir else None

    def start(self, timeout: float = 30) -> Server:
        args = [
            "district",
            "--home",
            str(self.home),
            "serve",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "2",
        ]
        if self.tls_dir:
            args += [
                "--tls-cert",
                str(self.tls_dir / "server.pem"),
                "--tls-key",
                str(self.tls_dir / "server-key.pem"),
            ]
        log = (self.log or self.home / "server.log").open("ab")
        self.proc = subprocess.Popen(
            cli_argv(*args),
            stdout=log,
            stderr=log,
            env={**os.environ, **self.extra_env},
            start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({self.proc.returncode}); see {self.home / 'server.log'}"
                )
            if self.health() is not None:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout} s")

    def health(self) -> int | None:
        context: Any = ssl.create_default_context(cafile=str(self.ca)) if self.ca else None
        try:
            with urllib.request.urlopen(f"{self.url}/v1/health", timeout=2, context=context) as r:  # noqa: S310
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)

    def kill(self) -> None:
        """SIGKILL the server and its workers (no chance to finish anything)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(15)

    def __enter__(self) -> Server:
        return self.start() if self.proc is None else self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
