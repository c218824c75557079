"""Standards and plugins: ``attest``, ``profiles``, ``schema``, ``validate``, ``probes``, ``checks``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from auditor.errors import InputError


@click.command()
@click.argument("item")
@click.option("--evidence", "evidence", multiple=True, required=True,
              type=click.Path(path_type=Path), help="Evidence document; repeat for several.")
@click.option("--by", "by", required=True, help="Who attests.")
@click.option("--role", required=True, help="Their role (e.g. 信息中心主任).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day the attestation counts (YYYY-MM-DD).")
@click.option("--note", default=None, help="Free text.")
@click.option("--profile", "profile_name", default=None,
              help="Profile name or YAML file the item belongs to (default: the built-in ones).")
@click.option("--store", type=click.Path(path_type=Path), default=None,
              help="Attestation store (default $AUDITOR_ATTESTATIONS or "
              "~/.local/share/campus-auditor/attestations).")
def attest(item: str, evidence: tuple[Path, ...], by: str, role: str, expires: Any,
           note: str | None, profile_name: str | None, store: Path | None) -> None:
    """Record that BY attests ITEM ([PROFILE:]ITEM, or a dimension's id for its full-points rule)."""
    from auditor.attest import default_store, record
    from auditor.profile import builtin_profiles, load_profile

    profile_id, _, target = item.rpartition(":")
    names = [profile_name] if profile_name else [profile_id] if profile_id else builtin_profiles()
    known = False
    for name in names:
        prof = load_profile(name).profile
        if profile_id and prof.id != profile_id:
            continue
        known = known or prof.item(target) is not None or any(
            g.id == target and g.override_rule for _p, g in prof.walk_groups())
    if not known:
        raise InputError(f"attest: {item!r} is not an item or starred dimension of "
                         f"{', '.join(names)}; see `auditor profiles --items`")
    path, att = record(store or default_store(), item, list(evidence), by, role,
                       expires.date() if expires else None, note)
    files = ", ".join(f"{e.name} ({e.sha256[:12]}…)" for e in att.evidence)
    click.echo(f"recorded {path}: {item} attested by {by} ({role}); evidence {files}")



@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("schemas"))
def schema(directory: Path) -> None:
    """Write JSON Schemas of the inventory, profile, waiver and attestation files."""
    from auditor.schemas import write_schemas

    for path in write_schemas(directory):
        click.echo(f"wrote {path}")



@click.command()
def probes() -> None:
    """List the installed probes."""
    from auditor.plugins import load_plugins

    for name, probe in load_plugins().probes.items():
        click.echo(f"{name:24} {probe.description}")


@click.command()
def checks() -> None:
    """List the installed checks."""
    from auditor.plugins import load_plugins

    for name, check in load_plugins().checks.items():
        click.echo(f"{name:30} {check.meta.title_en}")


@click.command()
@click.option("--items", is_flag=True, help="Also list every item id (for attest and waivers).")
def profiles(items: bool) -> None:
    """List the built-in profiles (frameworks and levels)."""
    from auditor.profile import builtin_profiles, load_profile

    for name in builtin_profiles():
        prof = load_profile(name).profile
        level = f" level {prof.level}" if prof.level else ""
        count = sum(1 for _ in prof.walk_items())
        click.echo(f"{name:30} {prof.title}{level} ({count} items, scoring: {prof.scoring})")
        if items:
            for _chain, item in prof.walk_items():
                how = "measured" if item.checks else "attested"
                click.echo(f"    {item.id:40} {how:9} {item.text[:60]}")


@click.command()
@click.argument("inventory", type=click.Path(path_type=Path))
def validate(inventory: Path) -> None:
    """Check an inventory file and report every problem with its line."""
    from auditor.inventory import check_scope, load_inventory

    loaded = load_inventory(inventory)
    check_scope(loaded)  # `run` refuses such targets one by one; here they are mistakes to fix
    inv = loaded.inventory
    click.echo(f"OK: {inventory}: {inv.school.name}, {len(inv.classrooms)} classrooms, "
               f"{len(inv.devices)} devices")


