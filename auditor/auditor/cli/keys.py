"""``auditor keys``: the agent's signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli._common import key_dir_option


@click.group()
def keys() -> None:
    """Manage the agent's Ed25519 signing key."""


@keys.command("init")
@key_dir_option
def keys_init(key_dir: Path | None) -> None:
    """Create the signing key (private key mode 0600) if it does not exist."""
    from auditor.signing import default_key_dir, init_keys

    directory = key_dir or default_key_dir()
    public, fpr, created = init_keys(directory)
    click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")


@keys.command("show")
@key_dir_option
def keys_show(key_dir: Path | None) -> None:
    """Print the public key's fingerprint."""
    from auditor.signing import default_key_dir, load_signer

    click.echo(load_signer(key_dir or default_key_dir()).keyid)


