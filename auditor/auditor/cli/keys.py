"""``auditor keys``: the agent's signing keys, and the trust store of keys whose bundles verify."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli._common import key_dir_option


@click.group()
def keys() -> None:
    """Manage the agent's signing keys (Ed25519, and optionally SM2) and the keys this computer
    trusts to sign bundles (the trust store: auditor keys list | trust FILE | untrust FP)."""


@keys.command("init")
@click.option("--sm2", is_flag=True,
              help="Also create an SM2 key (GB/T 32918): bundles then carry an SM2 signature "
              "and SM3 digests beside Ed25519 and SHA-256.")
@key_dir_option
def keys_init(sm2: bool, key_dir: Path | None) -> None:
    """Create the signing key(s) (private keys mode 0600) if they do not exist, and trust their
    public keys on this computer (so this agent's own bundles verify here)."""
    from auditor.signing import PUBLIC_NAME, default_key_dir, init_keys
    from auditor.smcrypto import SM2_PUBLIC_NAME, init_sm2_keys
    from auditor.trust import trust_dir, trust_files

    directory = key_dir or default_key_dir()
    public, fpr, created = init_keys(directory)
    click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")
    if sm2:
        public, fpr, created = init_sm2_keys(directory)
        click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")
    for key, added in trust_files([directory / PUBLIC_NAME, directory / SM2_PUBLIC_NAME]):
        if added:
            click.echo(f"trusted: {key.fingerprint} in {trust_dir()}")


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




@keys.command("list")
def keys_list() -> None:
    """The keys this computer trusts to sign bundles (the trust store)."""
    from auditor.trust import store_keys, trust_dir

    found = store_keys()
    if not found:
        click.echo(f"the trust store {trust_dir()} is empty: `auditor keys init` trusts this agent's "
                   "own keys, `auditor keys trust FILE` another agent's")
        return
    for key in found:
        click.echo(f"{key.algorithm:8} {key.fingerprint}  {key.path}")


@keys.command("trust")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def keys_trust(files: tuple[Path, ...]) -> None:
    """Trust the public key(s) in FILES (PEM, Ed25519 or SM2): bundles they sign then verify.

    Check each fingerprint printed here with the school (by phone, in person) before relying on
    it: a key copied out of a bundle is only as good as that check."""
    from auditor.trust import read_key, trust

    for path in files:
        key = read_key(path)
        stored, added = trust(key)
        click.echo(f"{'trusted' if added else 'already trusted'}: {key.algorithm} {key.fingerprint} "
                   f"({stored})")


@keys.command("untrust")
@click.argument("fingerprint")
def keys_untrust(fingerprint: str) -> None:
    """Stop trusting the key with FINGERPRINT (or its first 8 or more hex digits)."""
    from auditor.trust import untrust

    key = untrust(fingerprint)
    click.echo(f"untrusted: {key.algorithm} {key.fingerprint}; bundles it signed now verify with exit 4")
