"""A district server on loopback and the schools around it, for the district and agent tests.

``start_district`` initialises a district (SQLite or PostgreSQL) and starts ``auditor district
serve`` over HTTPS with a throw-away CA; ``enrol_school`` enrols an agent in-process,
``enrol_agent`` with the real CLI; ``make_bundle`` signs a demo report for a school.
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from auditor.agent.config import CA_NAME
from auditor.agent.enrol import enrol
from auditor.agent.outbox import pack
from auditor.bundle import select_renderers, write_bundle
from auditor.district.tlsgen import make_tls
from auditor.lab.district_harness import Server, cli
from auditor.model import ENVELOPE_NAME
from auditor.plugins import RenderOptions, load_plugins
from auditor.signing import Ed25519Signer, load_signer
from auditor.wire.client import SignedClient
from tests.support.browser import PageLoad, browser, require_chromium
from tests.support.history_bundles import Synth
from tests.support.inventories import OUT_OF_SCOPE


@dataclass
class DistrictEnv:
    """A district (home, database) and its running server."""

    base: Path
    home: Path
    db_url: str
    admin: str
    server: Server

    @property
    def data(self) -> Path:
        return self.home / "data"

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            verify=ssl.create_default_context(cafile=str(self.server.ca)),
            timeout=60,
        )

    def admin_call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        with self.http() as http:
            return http.request(method, path, json=body, headers={"authorization": f"Bearer {self.admin}"})

    def runs(self, school: str | None = None) -> list[dict[str, Any]]:
        got = self.admin_call("GET", "/v1/runs" + (f"?school={school}" if school else ""))
        assert got.status_code == 200, got.text
        return list(got.json()["runs"])


def start_district(base: Path, db_url: str, max_upload_mb: float = 64, workers: int = 1) -> DistrictEnv:
    home = base / "home"
    res = cli("district", "--home", str(home), "init", "--db", db_url, "--max-upload-mb", str(max_upload_mb))
    assert res.returncode == 0, res.stderr
    make_tls(base / "tls", ["127.0.0.1", "localhost"])
    server = Server(home, tls_dir=base / "tls", workers=workers).start()
    return DistrictEnv(base, home, db_url, res.stdout.strip(), server)


def db_url_for(request: pytest.FixtureRequest, base: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{base / 'district.db'}"
    return str(request.getfixturevalue("pg_cluster").new_database())


@dataclass
class School:
    code: str
    home: Path
    key_dir: Path
    signer: Ed25519Signer
    client: SignedClient


def enrol_school(env: DistrictEnv, code: str | None = None, **agent: Any) -> School:
    """A school enrolled by its agent (in-process ``enrol``, as ``auditor agent enroll`` does)."""
    code = code or f"S-{uuid.uuid4().hex[:8]}"
    got = env.admin_call("POST", f"/v1/admin/members/{code}/tokens")
    assert got.status_code == 200, got.text
    home = env.base / "agents" / code
    key_dir = home / "keys"
    enrol(home, env.server.url, got.json()["token"], env.server.ca, key_dir, **agent)
    signer = load_signer(key_dir)
    return School(code, home, key_dir, signer, SignedClient(env.server.url, home / CA_NAME, signer, code))


def make_bundle(
    out: Path,
    signer: Ed25519Signer,
    code: str,
    name: str = "测试学校",
    *,
    started: datetime | None = None,
    html: bool = False,
    edit: Callable[[Synth], object] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A signed bundle of ``code`` (the demo report, edited), optionally with report.html."""
    synth = Synth(started or datetime.now(UTC).replace(microsecond=0))
    synth.report["site"]["school"].update(code=code, name=name)
    if edit is not None:
        edit(synth)
    for path, data in (extra or {}).items():
        synth.files[path] = data
        synth.report["artifacts"].append(
            {
                "path": path,
                "size": len(data),
                "media_type": "application/octet-stream",
                "description": "extra",
            }
        )
    if not html:
        return synth.write(out, signer)
    out.mkdir(parents=True)
    for n, finding in enumerate(synth.report["findings"]):  # the template predates report schema 1.1
        finding.setdefault("id", f"F{n + 1:04d}")
    for indicator in synth.report["indicators"]:
        indicator.setdefault("findings", [])
    for artifact in synth.report["artifacts"]:
        synth._evidence(out, artifact, None)
    report = synth.report
    report["signing"] = {
        "algorithm": "ed25519",
        "key_fingerprint": signer.keyid,
        "public_key_pem": signer.public_key_pem().decode(),
    }
    write_bundle(out, report, select_renderers(load_plugins().renderers, ["html"]), signer, RenderOptions())
    return out


def random_bytes(size: int) -> bytes:
    seed = uuid.uuid4().bytes
    return b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size // 32 + 1))[
        :size
    ]


def digest_of(bundle: Path) -> str:
    return hashlib.sha256((bundle / ENVELOPE_NAME).read_bytes()).hexdigest()


def upload(school: School, bundle: Path, digest: str | None = None) -> dict[str, Any]:
    archive = bundle.parent / f"{bundle.name}-{uuid.uuid4().hex[:6]}.tar.gz"
    sha, _size = pack(bundle, archive)
    answer: dict[str, Any] = school.client.put_file(
        f"/v1/bundles/{digest or digest_of(bundle)}", archive, sha
    )
    return answer


def inventory(path: Path, code: str, class_hours: list[dict[str, str]] | None = None) -> Path:
    doc = yaml.safe_load(OUT_OF_SCOPE)
    doc["school"]["code"] = code
    if class_hours is not None:
        doc["schedule"] = {"timezone": "Asia/Shanghai", "class_hours": class_hours}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def enrol_agent(
    env: DistrictEnv, code: str, *extra: str, class_hours: list[dict[str, str]] | None = None
) -> Path:
    """Enrol a real agent with the CLI; returns its home."""
    res = cli("district", "--home", str(env.home), "enroll", "--school", code)
    assert res.returncode == 0, res.stderr
    home = env.base / "agents" / code
    inv = inventory(home.parent / f"{code}.yaml", code, class_hours)
    res = cli(
        "agent",
        "--home",
        str(home),
        "enroll",
        env.server.url,
        "--token",
        res.stdout.strip(),
        "--ca",
        str(env.server.ca),
        "-i",
        str(inv),
        "--key-dir",
        str(home / "keys"),
        *extra,
    )
    assert res.returncode == 0, res.stderr
    return home


@contextlib.contextmanager
def dashboard_page(env: DistrictEnv, first: str) -> Iterator[tuple[Any, list[PageLoad]]]:
    """A headless Chromium page logged in to the district's dashboard (through its login form,
    reached by opening ``first``), and the record of each page load made with :func:`visit`."""
    require_chromium()
    with browser() as b:
        context = b.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        loads: list[PageLoad] = []
        pg.on("request", lambda r: loads[-1].requests.append(r.url) if loads else None)
        pg.on("console", lambda m: loads[-1].console.append((m.type, m.text)) if loads else None)
        pg.on("pageerror", lambda e: loads[-1].console.append(("pageerror", str(e))) if loads else None)
        visit(pg, loads, f"{env.server.url}{first}")
        assert "/dashboard/login" in pg.url
        pg.fill("input[name=token]", env.admin)
        pg.click("input[type=submit]")
        pg.wait_for_load_state("load")
        try:
            yield pg, loads
        finally:
            context.close()


def visit(pg: Any, loads: list[PageLoad], url: str) -> PageLoad:
    """Open ``url`` in ``pg``, recording its requests and console messages."""
    loads.append(PageLoad(url))
    pg.goto(url, wait_until="load")
    return loads[-1]


def clean(env: DistrictEnv, seen: PageLoad) -> None:
    """The page load logged no error and asked nothing of anyone but the district server."""
    assert seen.errors == [], seen.errors
    assert seen.outside_requests((env.server.url,)) == [], seen.requests
