"""``auditor report``: render a signed bundle again (another format or language), after verifying it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from auditor.cli._common import EXIT_FINDINGS, format_options
from auditor.errors import InputError, VerificationError


@click.command("report")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, file_okay=False))
@format_options
@click.option("--out", "-o", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the renderings (default: BUNDLE-LANG beside the bundle). "
              "Never the bundle itself: it is signed and must stay as it is.")
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Public key(s) to pin (PEM, Ed25519 and/or SM2) when verifying the bundle first.")
def report(bundle: Path, formats: tuple[str, ...], lang: str, out: Path | None,
           keys: tuple[Path, ...]) -> None:
    """Render BUNDLE again (e.g. --format pdf --lang en); refuses a bundle that does not verify."""
    from auditor.bundle import render_all, select_renderers, split_pinned_keys, verify_bundle
    from auditor.plugins import RenderOptions, load_plugins

    renderers = select_renderers(load_plugins().renderers, formats)
    try:
        result = verify_bundle(bundle, *split_pinned_keys(keys))
    except VerificationError as exc:
        click.echo(f"FAILED: {bundle}: {exc}; nothing rendered", err=True)
        sys.exit(EXIT_FINDINGS)
    if not result.ok or result.report is None:
        click.echo(f"FAILED: {bundle}: does not verify, nothing rendered:", err=True)
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_FINDINGS)
    target = out or bundle.resolve().parent / f"{bundle.resolve().name}-{lang}"
    if target.resolve() == bundle.resolve():
        raise InputError(f"--out {target}: that is the signed bundle; choose another directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {target}: cannot create directory: {exc.strerror}") from None
    href = os.path.relpath(bundle.resolve(), target.resolve()).replace(os.sep, "/") + "/"
    written = render_all(target, result.report, renderers, RenderOptions(lang=lang, bundle_href=href))
    click.echo(f"verified {bundle} (signature by {result.keyid}); rendered into {target}:")
    for entry in written:
        click.echo(f"  {entry['path']}  sha256 {entry['sha256']}")
