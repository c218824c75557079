"""Enrolment and key rotation on the agent's side."""

from __future__ import annotations

import shutil
from pathlib import Path

from auditor.agent.config import CA_NAME, AgentConfig, save_agent_config
from auditor.signing import PRIVATE_NAME, PUBLIC_NAME, init_keys, load_signer
from auditor.smcrypto import SM2_PRIVATE_NAME, SM2_PUBLIC_NAME, load_sm2_signer
from auditor.trust import trust_files
from auditor.wire.client import SignedClient
from auditor.wire.errors import AgentError
from auditor.wire.protocol import enrol_proof, rotate_proof


def enrol(
    home: Path,
    server: str,
    token: str,
    ca: Path | None,
    key_dir: Path,
    inventory: Path | None = None,
    allow_class_hours: bool = False,
    upload_rate_kbps: float | None = None,
) -> AgentConfig:
    """Bind this agent's key to the school code the token names; write ``agent.yaml``."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    pinned = None
    if ca is not None:
        if not ca.is_file():
            raise AgentError(f"--ca {ca}: no such file")
        pinned = home / CA_NAME
        if ca.resolve() != pinned.resolve():
            shutil.copyfile(ca, pinned)
    init_keys(key_dir)
    trust_files([key_dir / PUBLIC_NAME, key_dir / SM2_PUBLIC_NAME])  # its own bundles verify here
    signer = load_signer(key_dir)
    sm2 = load_sm2_signer(key_dir)
    client = SignedClient(server, pinned, None, None)
    try:
        answer = client.call(
            "POST",
            "/v1/enrol",
            {
                "token": token,
                "public_key_pem": signer.public_key_pem().decode(),
                "sm2_public_key_pem": sm2.public_key_pem().decode() if sm2 else None,
                "proof": enrol_proof(signer, token),
            },
        )
    finally:
        client.close()
    config = AgentConfig(
        server=server,
        ca=pinned,
        member=answer["member"],
        key_dir=key_dir.resolve(),
        inventory=inventory.resolve() if inventory else None,
        allow_class_hours=allow_class_hours,
        upload_rate_kbps=upload_rate_kbps,
    )
    save_agent_config(home, config)
    return config


def rotate(config: AgentConfig) -> tuple[str, str]:
    """Make a new key, have the server pin it (request signed by the old key, proof by the new),
    then put it in place of the old one (kept as ``<key_dir>.old-<fingerprint>``)."""
    old = load_signer(config.key_dir)
    staging = config.key_dir.with_name(config.key_dir.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    init_keys(staging)
    new = load_signer(staging)
    client = SignedClient(config.server, config.ca, old, config.member)
    try:
        client.call(
            "POST",
            "/v1/keys/rotate",
            {
                "public_key_pem": new.public_key_pem().decode(),
                "proof": rotate_proof(new, config.member, old.keyid),
            },
        )
    finally:
        client.close()
    backup = config.key_dir.with_name(f"{config.key_dir.name}.old-{old.keyid[7:19]}")
    backup.mkdir(mode=0o700, exist_ok=True)
    for name in (PRIVATE_NAME, PUBLIC_NAME, SM2_PRIVATE_NAME, SM2_PUBLIC_NAME):
        if (config.key_dir / name).exists() and name in (PRIVATE_NAME, PUBLIC_NAME):
            (config.key_dir / name).replace(backup / name)
    for name in (PRIVATE_NAME, PUBLIC_NAME):
        (staging / name).replace(config.key_dir / name)
    shutil.rmtree(staging, ignore_errors=True)
    # the new key signs from now on; the old one stays trusted, so earlier bundles still verify
    trust_files([config.key_dir / PUBLIC_NAME])
    return old.keyid, new.keyid
