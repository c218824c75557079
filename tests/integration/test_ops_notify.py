"""Scheduled audits, operations review: notices through a REAL SMTP server (aiosmtpd on loopback,
STARTTLS required, login, a throw-away self-signed certificate the client must verify) and a
REAL HTTP server on loopback, with regressions computed by the history diff of a report that is
not signed yet; the notification file's validation; no secret in any notice or log.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.history import open_store
from auditor.history.diff import diff_report, regressions_section
from auditor.scheduling.config import EmailSettings, NotifyConfig, WebhookSettings, load_notify
from auditor.scheduling.notify import Notice, build_notice, deliver
from auditor.signing import Ed25519Signer, load_signer
from tests.support.history_bundles import BASE_TIME, baseline, regressed
from tests.support.keys import agent_keys
from tests.support.schedules import COMMUNITY, install
from tests.support.servers import Mailbox, free_port, http_server, smtp_server

SMTP_USER, SMTP_PASSWORD = "ops-notice", "ops-smtp-Pa55-never-written"
BEARER = "ops-hook-token-never-written"


# ---------------------------------------------------------------------------- real servers


@pytest.fixture()
def smtp(tmp_path: Path) -> Iterator[tuple[int, Path, Mailbox]]:
    with smtp_server(tmp_path, SMTP_USER, SMTP_PASSWORD) as server:
        yield server


# ---------------------------------------------------------------------------- a regressed run


@pytest.fixture(scope="module")
def notice(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Notice]:
    """The demo school's run, regressed (a slower classroom, telnet opened, a configuration
    changed, a stale backup), diffed BEFORE signing against its stored predecessor."""
    tmp = tmp_path_factory.mktemp("notice")
    agent_keys(tmp / "keys")
    signer: Ed25519Signer = load_signer(tmp / "keys")
    base = baseline()
    with open_store(f"sqlite:///{tmp / 'history.sqlite'}") as store:
        store.ingest(base.write(tmp / "previous", signer))
        later = regressed(base, BASE_TIME + dt.timedelta(days=7))
        diff = diff_report(store, later.report, tmp / "current", 0.10)
    assert diff is not None
    report = {**later.report, "regressions": regressions_section(diff)}
    built = build_notice("DEMO-0001", report, tmp / "current", None)
    assert built is not None
    return report, built


def test_the_current_report_is_diffed_before_it_is_signed(notice: tuple[dict[str, Any], Notice]) -> None:
    report, _ = notice
    section = report["regressions"]
    assert {(i["kind"], i["subject"]) for i in section["items"]} == {
        ("finding", "backup.fresh backup/student-db"),
        ("finding", "bandwidth.classroom_goodput classroom/room101/downstream"),
        ("finding", "device.config_changed device/access-cisco"),
        ("goodput_drop", "classroom/room101/downstream"),
        ("open_port", "inside host/web tcp/23 (telnet)"),
        ("config_changed", "access-cisco")}
    assert section["previous_started_at"] == "2026-09-01T08:00:00Z" and section["drop_fraction"] == 0.10


def test_email_goes_over_verified_starttls_with_login(
        smtp: tuple[int, Path, Mailbox], notice: tuple[dict[str, Any], Notice], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    port, cert, box = smtp
    report, message = notice
    monkeypatch.setenv("OPS_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("OPS_SMTP_PASSWORD", SMTP_PASSWORD)
    email = {"host": "127.0.0.1", "port": port, "sender": "auditor@school.example",
             "to": ["admin@school.example", "it@school.example"],
             "username": {"env": "OPS_SMTP_USER"}, "password": {"env": "OPS_SMTP_PASSWORD"}}
    unverified = NotifyConfig.model_validate({"email": email})  # no ca_file: system CAs only
    (problem,) = deliver(unverified, tmp_path, message, "regression")
    assert problem.startswith("email:") and "CERTIFICATE_VERIFY_FAILED" in problem
    assert box.messages == [] and box.logins == []  # nothing was said before the TLS check
    verified = NotifyConfig.model_validate({"email": {**email, "ca_file": str(cert)}})
    assert deliver(verified, tmp_path, message, "regression") == []
    assert box.logins == [(SMTP_USER, True)]
    (raw,) = box.messages
    mail = message_from_bytes(raw)
    items = report["regressions"]["items"]
    assert f"{len(items)} regression(s)" in mail["Subject"] and "DEMO-0001" in mail["Subject"]
    assert mail["To"] == "admin@school.example, it@school.example"
    body = mail.get_payload(decode=True).decode()
    assert all(i["subject"] in body for i in items)
    assert SMTP_PASSWORD.encode() not in raw


def test_webhook_retries_with_back_off(notice: tuple[dict[str, Any], Notice], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    report, message = notice
    monkeypatch.setenv("OPS_HOOK_TOKEN", BEARER)
    with http_server([503, 204]) as (url, posts):
        cfg = NotifyConfig.model_validate({"webhook": {"url": url, "bearer": {"env": "OPS_HOOK_TOKEN"},
                                                       "retries": 2, "timeout_s": 5}})
        started = time.monotonic()
        assert deliver(cfg, tmp_path, message, "regression") == []
        assert time.monotonic() - started >= 0.9  # it waited before trying again
    assert len(posts) == 2
    headers, body = posts[-1]
    assert headers["authorization"] == f"Bearer {BEARER}" and headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload["school"] == "DEMO-0001" and payload["run_id"] == report["run"]["id"]
    assert payload["regressions"] == report["regressions"]["items"]
    assert payload["bundle"] and set(payload["scores"]) == {s["profile"] for s in report["scores"]}
    assert BEARER.encode() not in body
    with http_server([500]) as (url, posts):
        cfg = NotifyConfig.model_validate({"webhook": {"url": url, "bearer": {"env": "OPS_HOOK_TOKEN"},
                                                       "retries": 1}})
        (problem,) = deliver(cfg, tmp_path, message, "regression")
    assert len(posts) == 2 and "HTTP 500" in problem and BEARER not in problem


@pytest.mark.parametrize(("body", "expected"), [
    ("email: {host: h, sender: a@b.example, to: [c@d.example], password: hunter2}",
     "n.yaml:2: email.password: inline secrets are not allowed"),
    ("email: {host: h, sender: a@b.example, to: [c@d.example], passwrd: {env: X}}",
     "n.yaml:2: email.passwrd: unknown field"),
    ("webhook: {url: 'https://x.example/h', bearer: {env: T}, retry: 3}",
     "n.yaml:2: webhook.retry: unknown field"),
    ("webhook: {url: 'ftp://x.example/h'}", "n.yaml:2: webhook.url"),
])
def test_the_notification_file_names_its_mistakes(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(f"version: 1\n{body}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_notify(path)
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(expected), str(err.value)


def test_credentials_never_travel_in_clear_text() -> None:
    with pytest.raises(ValueError, match="STARTTLS"):
        EmailSettings.model_validate({"host": "smtp.school.example", "starttls": False,
                                      "sender": "a@b.example", "to": ["c@d.example"],
                                      "password": {"env": "P"}})
    with pytest.raises(ValueError, match="https"):
        WebhookSettings.model_validate({"url": "http://ops.example/hook", "bearer": {"env": "T"}})
    # the same machine is fine: a local relay, a local collector
    EmailSettings.model_validate({"host": "localhost", "starttls": False, "sender": "a@b.example",
                                  "to": ["c@d.example"], "password": {"env": "P"}})
    WebhookSettings.model_validate({"url": "http://127.0.0.1:9000/hook", "bearer": {"env": "T"}})


def test_a_failed_run_notices_without_a_secret_anywhere(
        site: dict[str, Any], smtp: tuple[int, Path, Mailbox], tmp_path: Path) -> None:
    """A run that fails after the inventory's credentials were resolved (its signing key went
    away); the SMTP server refuses the login and echoes the password in its answer; the webhook
    is down. The run still ends (exit 2), and neither the logs nor anything else the run wrote
    holds the community, the SMTP password or the bearer token."""
    port, cert, box = smtp
    notify = tmp_path / "notify.yaml"
    notify.write_text(f"""\
version: 1
email: {{host: 127.0.0.1, port: {port}, ca_file: {cert}, sender: auditor@school.example,
        to: [admin@school.example], username: {{env: OPS_SMTP_USER}}, password: {{secret: smtp}}}}
webhook: {{url: 'http://127.0.0.1:{free_port()}/down', bearer: {{env: OPS_HOOK_TOKEN}}, retries: 0}}
secrets_file: notify-secrets.yaml
""", encoding="utf-8")
    secrets = tmp_path / "notify-secrets.yaml"
    secrets.write_text("smtp: wrong-" + SMTP_PASSWORD + "\n", encoding="utf-8")
    secrets.chmod(0o600)
    env = {"OPS_SMTP_USER": SMTP_USER, "OPS_HOOK_TOKEN": BEARER}
    assert install(site, "--notify", str(notify), env=env).returncode == 0
    shutil.move(site["keys"], tmp_path / "keys-gone")
    from tests.support.cli import run_cli

    res = run_cli("schedule", "run", "--school", "T-1", env={**site["env"], **env})
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "notice not delivered: email" in res.stderr and "notice not delivered: webhook" in res.stderr
    assert box.logins and all(login == (SMTP_USER, False) for login in box.logins)  # each mechanism tried
    assert box.messages == []
    log = (site["state"] / "logs" / "auditor.jsonl").read_text(encoding="utf-8")
    assert "bad password ********" in log
    written = b"".join(p.read_bytes() for p in site["state"].rglob("*") if p.is_file())
    for secret in (COMMUNITY, SMTP_PASSWORD, BEARER):
        assert secret.encode() not in written + res.stdout.encode() + res.stderr.encode(), secret
