"""An agent's signing keys as ``auditor keys init`` leaves them: created, and trusted on this
computer (the session's own HOME), so its bundles verify with exit 0 and can be ingested."""

from __future__ import annotations

from pathlib import Path

from auditor.signing import PUBLIC_NAME, init_keys
from auditor.smcrypto import SM2_PUBLIC_NAME
from auditor.trust import trust_files


def agent_keys(key_dir: Path) -> Path:
    """Create the Ed25519 key in ``key_dir`` if absent and trust its public key(s); returns it."""
    init_keys(key_dir)
    trust_files([key_dir / PUBLIC_NAME, key_dir / SM2_PUBLIC_NAME])
    return key_dir
