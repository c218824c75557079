"""Tell people when a scheduled run regresses or fails: email (SMTP, STARTTLS) and a JSON webhook.

A notice that cannot be delivered is logged and recorded; it never fails the run or touches the
bundle. Credentials are resolved from references and masked in anything written down.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from auditor.errors import AuditorError
from auditor.scheduling.config import EmailSettings, NotifyConfig, WebhookSettings
from auditor.secrets import SecretResolver


@dataclass(frozen=True)
class Notice:
    """What happened, for people (subject, text) and for machines (payload)."""

    subject: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


def build_notice(school: str, report: dict[str, Any] | None, bundle: Path | None,
                 failure: str | None) -> Notice | None:
    """The notice for a run, or None when nothing needs telling (no regression, no failure)."""
    regress = (report or {}).get("regressions") or {}
    items = regress.get("items", [])
    if failure is None and not items:
        return None
    scores = {s["profile"]: f"{s['total']:g}/{s['possible']:g}" for s in (report or {}).get("scores", [])}
    if failure is not None:
        subject = f"[campus-auditor] {school}: scheduled audit failed"
        text = f"The scheduled audit of {school} did not complete: {failure}\n"
    else:
        subject = f"[campus-auditor] {school}: {len(items)} regression(s) since the previous audit"
        lines = [f"- {i['kind']}: {i['subject']}: {i['detail']}" for i in items]
        text = (f"The scheduled audit of {school} found {len(items)} regression(s) since run "
                f"{regress.get('previous_run')} ({regress.get('previous_started_at')}):\n"
                + "\n".join(lines) + "\n")
    if bundle is not None:
        text += f"\nSigned bundle: {bundle}\nScores: {scores or 'none'}\n"
    payload = {"school": school, "run_id": ((report or {}).get("run") or {}).get("id"),
               "bundle": str(bundle) if bundle else None, "failure": failure, "scores": scores,
               "regressions": items, "previous_run": regress.get("previous_run")}
    return Notice(subject, text, payload)


class NotifyError(AuditorError):
    """A notice could not be delivered."""


def _tls(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def send_email(cfg: EmailSettings, notice: Notice, secrets: SecretResolver) -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = notice.subject, cfg.sender, ", ".join(cfg.to)
    msg.set_content(notice.text)
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
            if cfg.starttls:
                smtp.starttls(context=_tls(cfg.ca_file))
            if cfg.username is not None and cfg.password is not None:
                smtp.login(secrets.resolve(cfg.username, "email.username", sensitive=False),
                           secrets.resolve(cfg.password, "email.password"))
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise NotifyError(secrets.mask(f"email to {cfg.host}:{cfg.port}: {exc}")) from None


def send_webhook(cfg: WebhookSettings, notice: Notice, secrets: SecretResolver) -> None:
    headers = {"content-type": "application/json"}
    if cfg.bearer is not None:
        headers["authorization"] = "Bearer " + secrets.resolve(cfg.bearer, "webhook.bearer")
    body = json.dumps(notice.payload, ensure_ascii=False).encode("utf-8")
    last = ""
    for attempt in range(cfg.retries + 1):
        try:
            with httpx.Client(verify=_tls(cfg.ca_file), timeout=cfg.timeout_s) as http:
                got = http.post(cfg.url, content=body, headers=headers)
            if got.status_code < 300:
                return
            last = f"HTTP {got.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        if attempt < cfg.retries:
            time.sleep(min(2.0 ** attempt, 30.0))
    raise NotifyError(secrets.mask(f"webhook {cfg.url}: {last}"))


def deliver(cfg: NotifyConfig, base: Path, notice: Notice, kind: str) -> list[str]:
    """Send ``notice`` through every configured channel; return what went wrong (empty: all sent)."""
    if kind not in cfg.on:
        return []
    secrets = SecretResolver(_rel(base, cfg.secrets_file))
    problems = []
    channels: list[tuple[str, Any]] = []
    if cfg.email is not None:
        email = cfg.email.model_copy(update={"ca_file": _rel(base, cfg.email.ca_file)})
        channels.append(("email", lambda: send_email(email, notice, secrets)))
    if cfg.webhook is not None:
        hook = cfg.webhook.model_copy(update={"ca_file": _rel(base, cfg.webhook.ca_file)})
        channels.append(("webhook", lambda: send_webhook(hook, notice, secrets)))
    for name, send in channels:
        try:
            send()
        except AuditorError as exc:  # NotifyError, or a credential reference that cannot resolve
            problems.append(f"{name}: {secrets.mask(str(exc))}")
    return problems


def _rel(base: Path, path: Path | None) -> Path | None:
    return None if path is None else (path if path.is_absolute() else base / path)
