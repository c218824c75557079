"""Configuration of switches and routers over SSH (netmiko), archived and diffed.

One session per device: the agent's TCP connects to the management ports (23, 80, 443) come
first, so the telnet check can confirm the configuration with a measurement; then netmiko logs
in (host key checked by :mod:`auditor.sshclient`), enters enable mode where a secret is given,
and runs the read-only commands of the device's vendor family (``auditor.vendors``), which reads
them into a :class:`~auditor.facts.DeviceView` (an error reply, an empty or cut answer is not
evidence). Every output is masked (password hashes, communities, keys) before it is stored as
evidence; the family reads it as printed and masks every line it quotes. The masked running configuration
is compared with the one archived by the previous audit in the agent's state directory
("configuration changed since the last audit").
Addresses found in a configuration (NTP, syslog, RADIUS servers) are never contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.evidence import safe_name
from auditor.facts import DeviceConfig, FactKind, LoginUsed, fact_data
from auditor.inventory import Device, Inventory
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.sshclient import Credentials, KnownHosts, host_entry, map_ssh_error
from auditor.vendors import family
from auditor.vendors import names as vendor_names
from auditor.vendors.contract import Outputs, VendorFamily
from auditor.vendors.mask import mask_config

KIND = FactKind.DEVICE_CONFIG
TCP_PORTS = (23, 80, 443)
# Lines that change without a configuration change (timestamps, byte counts) are left out of the diff.
_VOLATILE = re.compile(
    r"^\s*(!\s*Last configuration change|!\s*NVRAM config last updated|!\s*No configuration change|"
    r"Building configuration|Current configuration\s*:|!\s*Time:|!Software Version|"
    r"!Last configuration was (updated|saved)|ntp clock-period)", re.IGNORECASE)

define({
    "probe.ssh_device.output": ("在 {device} 上执行 `{command}` 的输出（已遮蔽口令等机密）",
                                "`{command}` on {device} (secrets masked)"),
    "probe.ssh_device.default_login": ("{user} 及其公开的默认口令：{source}",
                                       "{user} with its published default password: {source}"),
    "probe.ssh_device.tcp_error": ("出错（{error}）", "error: {error}"),
    "probe.ssh_device.diff": ("{device} 的配置自 {time} 的审计以来发生的变更",
                              "configuration of {device} changed since the audit of {time}"),
}, recoverable=True)


class SshDeviceSettings(BaseModel):
    """Settings of ``ssh.device_config`` (profile ``probe_settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)
    command_timeout_s: float = Field(default=60.0, gt=0, le=600)
    tcp_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # netmiko's fast_cli trims its waits; against the emulated switches it lost the output of
    # about one command in 25 (the prompt matched before the output arrived), so it is off.
    fast_cli: bool = False


class SshDeviceConfigProbe:
    """Running configuration and status commands of every device with SSH access."""

    name: ClassVar[str] = "ssh.device_config"
    description: ClassVar[str] = (
        "Running configuration and status (version, SSH, NTP, interfaces) of switches over SSH")
    settings_model: ClassVar[type[BaseModel]] = SshDeviceSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, SshDeviceSettings)
        budget = settings.connect_timeout_s * 3 + settings.command_timeout_s * 5
        return [
            ProbeTask(probe=self.name, target=f"device/{d.id}", address=str(d.address),
                      params={"device": d.id, "settings": settings.model_dump()},
                      produces=((KIND, f"device/{d.id}"),), safety=Safety.PASSIVE,
                      locks=frozenset({f"ssh:{d.address}"}), estimated_seconds=min(budget, 15.0))
            for d in inventory.devices if d.ssh is not None and d.vendor in vendor_names()
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        device = ctx.inventory.device(task.params["device"])
        assert device.ssh is not None
        fam = family(device.vendor)
        s = SshDeviceSettings.model_validate(task.params["settings"])
        tcp = {str(port): await tcp_state(str(device.address), port, s.tcp_timeout_s) for port in TCP_PORTS}
        creds = Credentials.resolve(device.ssh, ctx.secrets, f"devices[{device.id}].ssh")
        known = ctx.known_hosts()
        session = await asyncio.to_thread(_collect, device, creds, known, fam.commands, s)
        texts = {kind: ctx.secrets.mask(text) for kind, text in session.texts.items()}  # parsed as read
        outputs = Outputs(texts=texts, prompt=session.prompt, enable_given=creds.enable is not None,
                          agent_time=session.clock_at, failures=session.failures)
        view = fam.read(outputs)
        artifacts = {}
        for kind, text in texts.items():
            command = fam.commands[kind]
            artifact = ctx.evidence.put(f"devices/{device.id}/{safe_name(command)}.txt",
                                        mask_config(device.vendor, text).encode(), "text/plain",
                                        english("probe.ssh_device.output", command=command, device=device.id))
            artifacts[kind] = artifact.path
        view = view.model_copy(update={"outputs": {
            k: state.model_copy(update={"artifact": artifacts.get(k)}) for k, state in view.outputs.items()}})
        archive = _archive(ctx, device, mask_config(device.vendor, texts["config"])) if view.complete else {}
        data = DeviceConfig(
            vendor=device.vendor, driver=device.driver or fam.netmiko_driver, live=True,
            address=str(device.address), view=view, outputs=artifacts,
            tcp=tcp, failed_commands=dict(session.failures),
            host_key=known.verified.get(host_entry(str(device.address), device.ssh.port)),
            login=login_used(fam, creds), **archive,
        )
        fact_artifacts = tuple(artifacts.values())
        if data.diff_artifact:
            fact_artifacts += (data.diff_artifact,)
        return [Fact(KIND, task.target, self.name, FactStatus.OK, data=fact_data(data),
                     artifacts=fact_artifacts)]


def login_used(fam: VendorFamily, creds: Credentials) -> LoginUsed:
    """Whether the audit's own login is a well-known default pair (the password is never kept)."""
    for user, password, source in (*fam.default_logins, *GENERIC_DEFAULT_LOGINS):
        if creds.username == user and creds.password == password:
            return LoginUsed(username=creds.username, well_known_default=True,
                             reason=english("probe.ssh_device.default_login", user=user, source=source))
    return LoginUsed(username=creds.username, well_known_default=False)


_GENERIC = english("vendor.login.generic")
GENERIC_DEFAULT_LOGINS = (("admin", "admin", _GENERIC), ("admin", "password", _GENERIC),
                          ("root", "root", _GENERIC), ("admin", "123456", _GENERIC),
                          ("admin", "", english("vendor.login.empty")))


async def tcp_state(address: str, port: int, timeout_s: float) -> str:
    """``open`` (connected), ``closed`` (refused) or ``filtered`` (no answer in time)."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    except TimeoutError:
        return "filtered"
    except ConnectionRefusedError:
        return "closed"
    except OSError as exc:
        return english("probe.ssh_device.tcp_error", error=str(exc.strerror or exc))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "open"


@dataclass
class Session:
    """What one SSH session read: outputs by kind, commands that failed, the prompt, when the
    clock was read."""

    texts: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    prompt: str | None = None
    clock_at: float | None = None


def _collect(device: Device, creds: Credentials, known: KnownHosts, commands: Mapping[str, str],
             s: SshDeviceSettings) -> Session:
    """Blocking netmiko session: log in, enable if asked, run each command."""
    from netmiko import ConnectHandler  # noqa: PLC0415 - netmiko is slow to import

    assert device.ssh is not None
    where = f"device {device.id} ({device.address}:{device.ssh.port})"
    conn = None
    try:
        conn = ConnectHandler(
            device_type=device.driver or family(device.vendor).netmiko_driver, host=str(device.address),
            port=device.ssh.port, username=creds.username, password=creds.password or "",
            key_file=creds.key_file, use_keys=creds.key_file is not None, secret=creds.enable or "",
            allow_agent=False, ssh_strict=True, system_host_keys=False, alt_host_keys=False,
            conn_timeout=s.connect_timeout_s, banner_timeout=s.connect_timeout_s,
            auth_timeout=s.connect_timeout_s, blocking_timeout=s.command_timeout_s,
            session_timeout=s.command_timeout_s, fast_cli=s.fast_cli, auto_connect=False,
        )
        conn.key_policy = known.policy()
        conn._open()
        if creds.enable and not conn.check_enable_mode():
            conn.enable()
        session = Session(prompt=str(conn.find_prompt()))
        for kind, command in commands.items():
            try:
                if kind == "clock":
                    session.clock_at = time.time()
                session.texts[kind] = _send(conn, command, s.command_timeout_s)
            except Exception as exc:  # one failed command must not lose the others
                session.failures[kind] = str(map_ssh_error(exc, where, s.command_timeout_s))
        return session
    except Exception as exc:
        raise map_ssh_error(exc, where, s.connect_timeout_s) from None
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):  # the session is over either way
                conn.disconnect()


def _send(conn: Any, command: str, timeout_s: float) -> str:
    """One command's output. An empty answer is asked again once (a prompt can be matched before
    the output arrives); a second empty answer is kept as it is, and the vendor family calls it
    empty: no output must never read as "nothing configured"."""
    text = ""
    for _attempt in range(2):
        text = str(conn.send_command(command, read_timeout=timeout_s, strip_prompt=True,
                                     strip_command=True))
        if text.strip():
            return text
        conn.clear_buffer()  # drop whatever arrived late, so it is not taken for the next output
        conn.find_prompt()
    return text


def _stable(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip() and not _VOLATILE.match(line)]


def _archive(ctx: RunContext, device: Device, config: str) -> dict[str, Any]:
    """Compare the masked configuration with the previous audit's copy; store this one."""
    folder: Path = ctx.state_dir / "configs" / safe_name(device.id)
    current = _stable(config)
    digest = hashlib.sha256("\n".join(current).encode()).hexdigest()
    meta_path, text_path = folder / "latest.json", folder / "latest.txt"
    result: dict[str, Any] = {"config_sha256": digest, "changed": None, "previous_sha256": None,
                              "previous_audit": None, "diff_artifact": None, "diff_lines": 0}
    previous_meta: dict[str, Any] | None = None
    try:
        previous_meta = json.loads(meta_path.read_text(encoding="utf-8"))
        previous = text_path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        previous_meta, previous = None, ""
    if previous_meta is not None:
        result["previous_sha256"] = previous_meta.get("sha256")
        result["previous_audit"] = previous_meta.get("audited_at")
        result["changed"] = previous_meta.get("sha256") != digest
        if result["changed"]:
            diff = list(difflib.unified_diff(_stable(previous), current, "previous audit", "this audit",
                                             lineterm="", n=2))
            artifact = ctx.evidence.put(f"devices/{device.id}/config-changes.diff",
                                        ("\n".join(diff) + "\n").encode(), "text/x-diff",
                                        english("probe.ssh_device.diff", device=device.id,
                                                time=str(previous_meta.get("audited_at"))))
            result["diff_artifact"] = artifact.path
            result["diff_lines"] = sum(1 for line in diff if line[:1] in "+-"
                                       and not line.startswith(("+++", "---")))
    folder.mkdir(parents=True, exist_ok=True)
    text_path.write_text(config, encoding="utf-8")
    meta_path.write_text(json.dumps({"sha256": digest, "audited_at": datetime.now(UTC).isoformat(
        timespec="seconds"), "address": str(device.address)}), encoding="utf-8")
    return result
