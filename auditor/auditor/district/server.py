"""Running the server: uvicorn with TLS, one or more worker processes.

The schemas are created or upgraded once here, before the workers start, so workers only open
the database. With ``workers > 1`` uvicorn forks worker processes that share the listening
socket; each builds its own application (``app_from_env``), with its own connection pool.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from auditor.district.config import default_home, load_config
from auditor.district.db import open_database
from auditor.wire.errors import DistrictError


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise DistrictError(f"--listen {listen}: write HOST:PORT, e.g. 0.0.0.0:8443")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - the documented default


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(
    home: Path | None,
    listen: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    workers: int = 1,
    log_level: str = "info",
    graceful_s: float = 30,
) -> None:
    import uvicorn  # noqa: PLC0415

    home = (home or default_home()).resolve()
    config = load_config(home)
    host, port = parse_listen(listen)
    if (tls_cert is None) != (tls_key is None):
        raise DistrictError("give both --tls-cert and --tls-key")
    if tls_cert is None and not _loopback(host):
        raise DistrictError(
            "without --tls-cert/--tls-key the server listens on loopback only "
            "(agents send bundles and signatures over this connection)"
        )
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise DistrictError(f"{path}: no such file")
    open_database(config.db).close()  # create or upgrade the schemas once, before the workers
    os.environ["AUDITOR_DISTRICT_HOME"] = str(home)
    uvicorn.run(
        "auditor.district.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=int(graceful_s),  # in-flight uploads get this long to finish
    )
