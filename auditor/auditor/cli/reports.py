"""``auditor report``: render a signed bundle again (another format or language), after verifying it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from auditor.cli._common import EXIT_FINDINGS, EXIT_UNTRUSTED, format_options, pin_options, pins
from auditor.errors import InputError, VerificationError


@click.command("report")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True, file_okay=False))
@format_options
@click.option("--out", "-o", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Directory for the renderings (default: BUNDLE-LANG beside the bundle). "
              "Never the bundle itself: it is signed and must stay as it is.")
@pin_options
def report(bundle: Path, formats: tuple[str, ...], lang: str, out: Path | None,
           keys: tuple[Path, ...], trusted_dir: Path | None) -> None:
    """Render BUNDLE again (e.g. --format pdf --lang en); refuses a bundle that does not verify.

    A bundle that is intact but signed by a key this computer does not trust is rendered with a
    "signer not trusted" banner on every rendering, and the command exits 4."""
    from auditor.bundle import render_all, select_renderers, verify_bundle
    from auditor.plugins import RenderOptions, load_plugins

    renderers = select_renderers(load_plugins().renderers, formats)
    try:
        result = verify_bundle(bundle, *pins(keys, trusted_dir))
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
    options = RenderOptions(lang=lang, bundle_href=href,
                            untrusted_signer=" · ".join(fp for _, fp in result.untrusted))
    written = render_all(target, result.report, renderers, options)
    if result.untrusted:
        click.echo(f"UNTRUSTED: {bundle}: {result.untrusted_text()}; rendered with a "
                   f"\"signer not trusted\" banner into {target}:")
    else:
        click.echo(f"verified {bundle} (signature by {result.keyid}, trusted: {result.trust_source}); "
                   f"rendered into {target}:")
    for entry in written:
        click.echo(f"  {entry['path']}  sha256 {entry['sha256']}")
    if result.untrusted:
        sys.exit(EXIT_UNTRUSTED)
