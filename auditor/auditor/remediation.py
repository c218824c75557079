"""One change script per network device (``remediation/<device-id>.txt`` in the bundle).

Each failing device check carries the commands that fix it in the device's own syntax (the
vendor module's ``remediation``, in :attr:`Finding.fix`). This module puts them in one file per
device, in the order of the findings, with the rollback after them: every command reversed with
the family's negation (``undo`` on VRP and Comware, ``no`` on IOS and RGOS), in reverse order,
keeping the mode commands (``aaa``, ``user-interface vty 0 4``, ``line vty 0 15``) that the
reversed commands need.

A script never holds a secret: the commands carry placeholders (``<password>``, ``<key>``) that
the administrator fills in, and a command that sets a secret has no exact reverse (the old secret
is not known to the auditor): its rollback line says so and points to the saved configuration.
Written by hand: the inversion is a line rule per family. hier_config, which computes
remediation and rollback from a running and an intended configuration, knows Cisco IOS among
these families but not Huawei VRP, H3C Comware or Ruijie RGOS, and the auditor has no intended
configuration per school to diff against; the rollback lines are the syntactic reverse of the
fix, which the script header asks the administrator to review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.vendors import family

_SECRET = re.compile(r"<(password|key|secret|community)[^>]*>|\b(secret|password|shared-key|cipher)\b",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Syntax:
    """How a family writes a comment, reverses a command, and prints its configuration."""

    negation: str  # "undo " or "no "
    comment: str  # "#" or "!"
    show_config: str  # the command whose output to save before changing anything


def syntax_of(vendor: str) -> Syntax:
    fam = family(vendor)
    return Syntax(fam.negation, fam.comment, fam.commands["config"])


def _is_mode(lines: Sequence[str], i: int) -> bool:
    """A line is a mode command when the next line is indented under it."""
    indent = len(lines[i]) - len(lines[i].lstrip(" "))
    return i + 1 < len(lines) and len(lines[i + 1]) - len(lines[i + 1].lstrip(" ")) > indent


def reverse(commands: Sequence[str], syntax: Syntax) -> list[str]:
    """The rollback of ``commands``: their top-level blocks in reverse order; in each block the
    mode commands kept (the reversed lines must land in the same mode) and every other command
    negated, or its negation removed; a command that sets a secret becomes a comment."""
    blocks: list[list[str]] = []
    for i, line in enumerate(commands):
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0 or not blocks:
            blocks.append([])
        body, pad = line.strip(), " " * indent
        if _is_mode(commands, i):
            blocks[-1].append(line)
        elif _SECRET.search(body):
            blocks[-1].append(f"{pad}{syntax.comment} {body}: sets a secret; the old one cannot be "
                              f"put back from here: restore it from the saved `{syntax.show_config}`")
        elif body.startswith(syntax.negation):
            blocks[-1].append(pad + body[len(syntax.negation):])
        else:
            blocks[-1].append(pad + syntax.negation + body)
    return [line for block in reversed(blocks) for line in block]


def change_script(device: Mapping[str, Any], findings: Sequence[Mapping[str, Any]],
                  run: Mapping[str, Any]) -> str | None:
    """The change script of one device from its findings (``report.json`` dicts), or None when
    no failing finding of it carries commands."""
    failing = [f for f in findings if f.get("status") == "fail" and f.get("fix")]
    if not failing:
        return None
    s = syntax_of(str(device["vendor"]))
    c = s.comment
    head = [
        f"{c} campus-auditor change script for {device['id']} ({device.get('address', '')}), "
        f"vendor {device['vendor']}",
        f"{c} audit run {run.get('id', '')} at {run.get('started_at', '')}",
        f"{c} Fill in every <placeholder> first; this file holds no password or key.",
        f"{c} Before you start, save the output of `{s.show_config}` to compare with or restore.",
        f"{c} Review every line against the school's design: this is what the failed checks ask for,",
        f"{c} not a tested configuration of this device.",
        c,
    ]
    body: list[str] = []
    back: list[str] = []
    for f in failing:
        fix = [str(x) for x in f["fix"]]
        body += [f"{c} {f['check']} ({f.get('id', '')})", *fix, c]
        back = [f"{c} undo {f['check']} ({f.get('id', '')})", *reverse(fix, s), c, *back]
    rollback = [f"{c} ===== rollback: reverses the commands above, last change first =====", c, *back]
    return "\n".join(head + body + rollback) + "\n"


def change_scripts(report: Mapping[str, Any]) -> dict[str, str]:
    """Device id → its change script, for every inventory device with a fixable failure."""
    by_target: dict[str, list[Mapping[str, Any]]] = {}
    for f in report.get("findings", []):
        by_target.setdefault(str(f.get("target", "")), []).append(f)
    out = {}
    for node in report.get("topology", {}).get("nodes", []):
        try:
            script = change_script(node, by_target.get(f"device/{node['id']}", []), report.get("run", {}))
        except KeyError:  # a vendor the auditor has no family for: no script, nothing invented
            continue
        if script is not None:
            out[str(node["id"])] = script
    return out
