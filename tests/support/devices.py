"""Device views of the project's vendor fixtures (tests/data/netconfig/<vendor>/<variant>/), and
``device.config`` facts built from them as the probe builds them."""

from __future__ import annotations

from typing import Any

from auditor.facts import DeviceConfig, DeviceView, LoginUsed, fact_data
from auditor.model import Fact, FactStatus
from auditor.vendors import family
from auditor.vendors.contract import Outputs
from tests.support.paths import DATA

NETCONFIG = DATA / "netconfig"
VENDORS = ("huawei", "h3c", "cisco", "ruijie")
KEYS = ("config", "version", "ntp", "ssh", "interfaces")


def outputs(vendor: str, variant: str, keys: tuple[str, ...] = KEYS) -> dict[str, str]:
    return {k: (NETCONFIG / vendor / variant / f"{k}.txt").read_text(encoding="utf-8") for k in keys}


def read(vendor: str, texts: dict[str, str], **session: Any) -> DeviceView:
    """What the vendor family makes of these outputs (as the probe and the offline audit do)."""
    return family(vendor).read(Outputs(texts=texts, **session))


def view(vendor: str, variant: str, keys: tuple[str, ...] = KEYS) -> DeviceView:
    return read(vendor, outputs(vendor, variant, keys))


def config_fact(vendor: str, variant: str, tcp: dict[str, str] | None = None, keys: tuple[str, ...] = KEYS,
                device: str | None = None, the_view: DeviceView | None = None, **extra: Any) -> Fact:
    """The ``device.config`` fact of a fixture device as the live probe writes it (its TCP results as a
    hardened/weak one's; a complete configuration archived as a first audit's, ``extra`` overrides)."""
    hardened = variant == "hardened"
    shown = the_view or view(vendor, variant, keys)
    fields: dict[str, Any] = {
        "vendor": vendor, "driver": family(vendor).netmiko_driver, "live": True, "address": "192.0.2.10",
        "view": shown, "outputs": {k: f"evidence/device/sw-{vendor}/{k}.txt" for k in keys},
        "tcp": tcp if tcp is not None else {"23": "closed" if hardened else "open",
                                            "80": "closed" if hardened else "open", "443": "open"},
        "failed_commands": {}, "host_key": "SHA256:" + "A" * 43,
        "login": LoginUsed(username="auditor", well_known_default=False)}
    if shown.complete:
        fields.update(config_sha256="ab" * 32, changed=None, previous_sha256=None, previous_audit=None,
                      diff_artifact=None, diff_lines=0)
    data = DeviceConfig(**{**fields, **extra})
    return Fact("device.config", f"device/{device or f'sw-{vendor}'}", "ssh.device_config", FactStatus.OK,
                fact_data(data), artifacts=(f"evidence/device/sw-{vendor}/config.txt",))
