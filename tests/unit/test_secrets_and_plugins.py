"""Credential references, secrets-file permissions, masking, and plugin registration rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import RegistryError, SecretError
from auditor.evidence import EvidenceStore
from auditor.plugins import Probe, Registry, load_plugins
from auditor.secrets import MASK, SecretRef, SecretResolver


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = SecretResolver(None, environ={"COMM": "s3cret-community"})
    assert resolver.resolve(SecretRef(env="COMM"), "devices[0].snmp") == "s3cret-community"
    with pytest.raises(SecretError, match="environment variable NOPE is not set"):
        resolver.resolve(SecretRef(env="NOPE"), "devices[0].snmp")


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("core-ro: abc123xyz\n")
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        SecretResolver(path).resolve(SecretRef(secret="core-ro"), "x")
    path.chmod(0o600)
    resolver = SecretResolver(path)
    assert resolver.resolve(SecretRef(secret="core-ro"), "x") == "abc123xyz"
    with pytest.raises(SecretError, match="'other' is not in"):
        resolver.resolve(SecretRef(secret="other"), "x")


def test_evidence_is_masked(tmp_path: Path) -> None:
    resolver = SecretResolver(None, environ={"COMM": "s3cret-community"})
    resolver.resolve(SecretRef(env="COMM"), "x")
    store = EvidenceStore(tmp_path, resolver)
    artifact = store.put("tool/out.txt", b"community s3cret-community ok", "text/plain", "d")
    written = (tmp_path / artifact.path).read_text()
    assert "s3cret" not in written and MASK in written


def test_registry_rejects_duplicates_and_non_plugins() -> None:
    plugins = load_plugins()
    registry: Registry[Probe] = Registry("probe", Probe)
    probe = plugins.probes.get("iperf3.bandwidth")
    registry.register("iperf3.bandwidth", probe)
    with pytest.raises(RegistryError, match="registered twice"):
        registry.register("iperf3.bandwidth", probe)
    with pytest.raises(RegistryError, match="does not implement"):
        registry.register("bogus", object())  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="unknown probe"):
        registry.get("nmap.scan")


def test_builtin_plugins_are_registered_by_entry_points() -> None:
    plugins = load_plugins()
    assert {"iperf3.bandwidth", "snmp.port_speed"} <= set(plugins.probes.names())
    for name, check in plugins.checks.items():
        assert check.meta.id == name
        assert check.meta.title_zh and check.meta.title_en and check.meta.remediation_zh
        assert set(check.meta.requires) <= set(plugins.probes.names())
    assert "markdown" in plugins.renderers
