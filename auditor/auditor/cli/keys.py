"""``auditor keys``: the agent's signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli._common import key_dir_option


@click.group()
def keys() -> None:
    """Manage the agent's signing keys (Ed25519, and optionally SM2)."""


@keys.command("init")
@click.option("--sm2", is_flag=True,
              help="Also create an SM2 key (GB/T 32918): bundles then carry an SM2 signature "
              "and SM3 digests beside Ed25519 and SHA-256.")
@key_dir_option
def keys_init(sm2: bool, key_dir: Path | None) -> None:
    """Create the signing key(s) (private keys mode 0600) if they do not exist."""
    from auditor.signing import default_key_dir, init_keys
    from auditor.smcrypto import init_sm2_keys

    directory = key_dir or default_key_dir()
    public, fpr, created = init_keys(directory)
    click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")
    if sm2:
        public, fpr, created = init_sm2_keys(directory)
        click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")


@keys.command("show")
@key_dir_option
def keys_show(key_dir: Path | None) -> None:
    """Print the public keys' fingerprints."""
    from auditor.signing import default_key_dir, load_signer
    from auditor.smcrypto import load_sm2_signer

    directory = key_dir or default_key_dir()
    click.echo(f"ed25519  {load_signer(directory).keyid}")
    sm2 = load_sm2_signer(directory)
    if sm2 is not None:
        click.echo(f"sm2-sm3  {sm2.keyid}")


