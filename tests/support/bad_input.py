"""The bad-input table: malformed inventories, profiles, waivers, attestations and options, each
with the exit status, the file and line, and the words the one-line message must have.

Shared by ``tests/integration/test_bad_input.py`` (which runs every case) and
``bench/reliability.py`` (which also times every case and measures its peak memory).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.inventories import GOOD

Content = str | bytes | Callable[[], bytes]

SECRET_GOOD = GOOD.replace("community: {env: SNMP_COMMUNITY}", "community: {secret: snmp-ro}") + \
    "secrets_file: secrets.yaml\n"
PROFILE = """\
schema: 2
id: bad-input-profile
title: a small profile
version: "1"
source: tests
groups:
  - id: net
    title: network
    items:
      - id: net.1
        text: uplink bandwidth
        checks:
          - check: bandwidth.uplink_goodput
"""
WAIVER = """\
schema: 1
waivers:
  - check: bandwidth.classroom_goodput
    target: classroom/room101/*
    reason: 教室改造中
    approver: 张校长
    start: 2026-01-01
    expires: 2099-12-31
    risk: medium
"""
EVIDENCE = b"%PDF-1.4 a signed policy"
EVIDENCE_SHA = hashlib.sha256(EVIDENCE).hexdigest()
ATTESTATION = f"""\
schema: 1
target: env.net.2
by: 王老师
role: 信息中心主任
at: 2026-11-01T08:00:00+00:00
expires: 2099-07-31
evidence:
  - {{name: policy.pdf, sha256: {EVIDENCE_SHA}, size: {len(EVIDENCE)}}}
"""


@dataclass(frozen=True)
class Case:
    """One bad input: the files to write, the command, what the one-line message must say.

    ``argv`` may use ``{tmp}`` (the case's directory) and ``{keys}`` (a signing key directory).
    ``where`` is (file, marker): the message must name ``file:LINE`` where LINE is the first line
    of that file containing the marker (or the line number itself, when an int).
    """

    id: str
    kind: str
    argv: tuple[str, ...]
    files: dict[str, Content]
    expect: tuple[str, ...]
    where: tuple[str, str | int] | None = None
    modes: dict[str, int] = field(default_factory=dict)


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def inv(case: str, old: str, new: str, expect: tuple[str, ...], marker: str | int | None = None,
        base: str = GOOD, run: bool = False, extra: dict[str, Content] | None = None,
        modes: dict[str, int] | None = None) -> Case:
    """An inventory case: GOOD (or ``base``) with ``old`` replaced by ``new``."""
    argv = ("run", "-q", "-i", "{tmp}/site.yaml", "-p", "beijing-smart-campus-2023", "-o", "{tmp}/out",
            "--key-dir", "{keys}") if run else ("validate", "{tmp}/site.yaml")
    return Case(case, "inventory", argv, {"site.yaml": _edit(base, old, new), **(extra or {})}, expect,
                None if marker is None else ("site.yaml", marker), modes or {})


def _run_with(kind: str, option: tuple[str, ...], files: dict[str, Content], expect: tuple[str, ...],
              case: str, where: tuple[str, str | int] | None) -> Case:
    argv = ("run", "-q", "-i", "{tmp}/site.yaml", "-o", "{tmp}/out", "--key-dir", "{keys}",
            "--attestations", "{tmp}/no-store", *option)
    if "-p" not in option:
        argv += ("-p", "beijing-smart-campus-2023")
    return Case(case, kind, argv, {"site.yaml": GOOD, **files}, expect, where)


def prof(case: str, old: str, new: str, expect: tuple[str, ...], marker: str | None) -> Case:
    return _run_with("profile", ("-p", "{tmp}/profile.yaml"), {"profile.yaml": _edit(PROFILE, old, new)},
                     expect, case, None if marker is None else ("profile.yaml", marker))


def waiver(case: str, old: str, new: str, expect: tuple[str, ...], marker: str | None) -> Case:
    return _run_with("waivers", ("--waivers", "{tmp}/waivers.yaml"),
                     {"waivers.yaml": _edit(WAIVER, old, new)}, expect, case,
                     None if marker is None else ("waivers.yaml", marker))


def attestation(case: str, old: str, new: str, expect: tuple[str, ...], marker: str | None,
                evidence: bool = True) -> Case:
    files: dict[str, Content] = {"store/records/r1.yaml": _edit(ATTESTATION, old, new)}
    if evidence:
        files[f"store/files/{EVIDENCE_SHA}"] = EVIDENCE
    case_ = _run_with("attestation", (), files, expect, case,
                      None if marker is None else ("store/records/r1.yaml", marker))
    argv = tuple("{tmp}/store" if a == "{tmp}/no-store" else a for a in case_.argv)
    return Case(case_.id, case_.kind, argv, case_.files, case_.expect, case_.where)


def cli(case: str, argv: tuple[str, ...], expect: tuple[str, ...],
        files: dict[str, Content] | None = None) -> Case:
    return Case(case, "cli", argv, {"site.yaml": GOOD, **(files or {})}, expect)


def _alias_bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return (GOOD + "\n".join(lines) + "\n").encode()


def _alias_deep() -> bytes:
    """Each anchor nests the previous one 20 levels down: shallow as written, 200 deep expanded."""
    lines = ["a0: &a0 x"]
    for i in range(1, 11):
        lines.append(f"a{i}: &a{i} " + "[" * 20 + f"*a{i - 1}" + "]" * 20)
    return (GOOD + "\n".join(lines) + "\n").encode()


def _huge() -> bytes:
    pad = b"# " + b"x" * 1021 + b"\n"
    return GOOD.encode() + pad * (50 * 1024)  # 50 MiB of comments after a valid inventory


def _deep() -> bytes:
    return (GOOD + "tailoring: " + "[" * 5000 + "]" * 5000 + "\n").encode()


def _settings(probe: str, line: str) -> str:
    return f"probe_settings:\n  {probe}:\n    {line}\ngroups:\n"


_DEVICE = "devices:\n  - id: sw1\n"
_ROOM = "  - id: room101\n    name: 教学楼 101\n"
INVENTORY_CASES = [
    # libyaml notices an unclosed bracket on the next line; the message says "this line or the one before"
    inv("yaml-syntax", "  allow: [10.200.0.0/16]", "  allow: [10.200.0.0/16", ("invalid YAML", "brackets"),
        "authorisation:"),
    inv("tab-indent", "  code: T-1\n", "\tcode: T-1\n", ("tab character", "spaces"), "code: T-1"),
    inv("duplicate-key", "  code: T-1\n", "  code: T-1\n  code: T-2\n", ("duplicate key 'code'",
        "remove one"), "code: T-2"),
    inv("unknown-top-key", "version: 1\n", "version: 1\nschol: x\n", ("schol", "unknown field",
        "spelling"), "schol: x"),
    inv("unknown-nested-key", "    vendor: huawei", "    vendor: huawei\n    adress: 10.200.9.3",
        ("devices[0].adress", "unknown field"), "adress:"),
    inv("wrong-type-number", "    name: 教学楼 101\n", "    name: 教学楼 101\n    rate_mbps: fast\n",
        ("classrooms[0].rate_mbps", "whole number"), "rate_mbps: fast"),
    inv("wrong-type-list", "  allow: [10.200.0.0/16]", "  allow: 10.200.0.0/16",
        ("scope.allow", "write a list"), "allow:"),
    inv("wrong-type-mapping", "school:\n  name: 测试学校\n  code: T-1\n", "school: 测试学校\n",
        ("school", "mapping"), "school: 测试学校"),
    inv("cidr-prefix-33", "[10.200.0.0/16]", "[10.200.0.0/33]", ("scope.allow[0]", "CIDR"), "allow:"),
    inv("cidr-host-bits", "[10.200.0.0/16]", "[10.200.0.1/16]", ("scope.allow[0]", "zero host bits"),
        "allow:"),
    inv("bad-address", "address: 10.200.11.2", "address: 10.200.11.300",
        ("classrooms[0].endpoint.address", "10.200.11.300", "dotted IPv4"), "endpoint:"),
    inv("address-not-ip", "address: 10.200.9.2", "address: switch-1.local",
        ("devices[0].address", "IPv4 address"), "address: switch-1.local"),
    inv("port-too-high", "endpoint: {address: 10.200.11.2}", "endpoint: {address: 10.200.11.2, port: 70000}",
        ("classrooms[0].endpoint.port", "65535"), "endpoint:"),
    inv("port-zero", '      version: "2c"\n', '      version: "2c"\n      port: 0\n',
        ("devices[0].snmp.port", "greater than or equal to 1"), "port: 0"),
    inv("target-outside-scope", "address: 10.200.9.2", "address: 192.168.7.2",
        ("devices[0].address", "192.168.7.2", "outside scope.allow", "add its network"),
        "address: 192.168.7.2"),
    inv("segment-outside-scope", "version: 1\n",
        "version: 1\ndiscovery:\n  interface: eth0\n  segments: [172.16.0.0/24]\n",
        ("discovery.segments[0]", "not inside scope.allow"), "segments:"),
    inv("inline-community", "community: {env: SNMP_COMMUNITY}", "community: public",
        ("devices[0].snmp.community", "inline secrets are not allowed", "{env: VARIABLE_NAME}"),
        "community: public"),
    inv("inline-ssh-password", "      community: {env: SNMP_COMMUNITY}\n",
        "      community: {env: SNMP_COMMUNITY}\n    ssh: {username: {env: U}, password: hunter2}\n",
        ("devices[0].ssh.password", "inline secrets are not allowed"), "ssh:"),
    inv("secret-and-env", "{env: SNMP_COMMUNITY}", "{env: SNMP_COMMUNITY, secret: c}",
        ("devices[0].snmp.community", "exactly one of 'env' or 'secret'"), "community:"),
    inv("secrets-file-0644", "version: 1\n", "version: 1\n", ("secrets_file", "readable by others",
        "chmod 600"), "secrets_file:", base=SECRET_GOOD, extra={"secrets.yaml": "snmp-ro: campus-ro\n"},
        modes={"secrets.yaml": 0o644}),
    inv("secrets-file-missing", "version: 1\n", "version: 1\n", ("secrets_file", "secrets file not found"),
        "secrets_file:", base=SECRET_GOOD),
    inv("secret-not-in-file", "version: 1\n", "version: 1\n", ("devices[0].snmp.community",
        "secret 'snmp-ro' is not in", "add it there"), "community:", base=SECRET_GOOD,
        extra={"secrets.yaml": "other: x\n"}, modes={"secrets.yaml": 0o600}),
    inv("secret-without-file", "community: {env: SNMP_COMMUNITY}", "community: {secret: snmp-ro}",
        ("devices[0].snmp.community", "no secrets_file", "add 'secrets_file: PATH'"), "community:"),
    inv("bad-timezone", "version: 1\n", "version: 1\nschedule:\n  timezone: Asia/Beijing\n",
        ("schedule.timezone", "unknown time zone 'Asia/Beijing'", "Asia/Shanghai"), "timezone:"),
    inv("class-hours-reversed", "version: 1\n",
        "version: 1\nschedule:\n  class_hours:\n    - {days: [mon], start: '12:00', end: '08:00'}\n",
        ("schedule.class_hours[0]", "'end' must be after 'start'"), "- {days"),
    inv("class-hours-bad-time", "version: 1\n",
        "version: 1\nschedule:\n  class_hours:\n    - {days: [mon], start: '25:00', end: '26:00'}\n",
        ("schedule.class_hours[0].start", "HH:MM"), "- {days"),
    inv("class-hours-bad-day", "version: 1\n",
        "version: 1\nschedule:\n  class_hours:\n    - {days: [monday], start: '08:00', end: '09:00'}\n",
        ("schedule.class_hours[0].days[0]", "'mon'"), "- {days"),
    inv("duplicate-classroom-id", _DEVICE, "  - {id: room101, name: again}\n" + _DEVICE,
        ("classrooms[1].id", "duplicate id 'room101'", "rename one"), "name: again"),
    inv("duplicate-device-id", "      community: {env: SNMP_COMMUNITY}\n",
        "      community: {env: SNMP_COMMUNITY}\n  - {id: sw1, address: 10.200.9.3, vendor: h3c}\n",
        ("devices[1].id", "duplicate id 'sw1'"), "- {id: sw1"),
    inv("unknown-device-ref", "access_port: {device: sw1,", "access_port: {device: sw9,",
        ("classrooms[0].access_port.device", "sw9", "not in 'devices'"), "access_port:"),
    inv("unknown-zone", "version: 1\n",
        "version: 1\nservers:\n  - {id: web, address: 10.200.20.2, zone: dmz}\n",
        ("servers[0].zone", "'dmz'", "not in 'zones'"), "- {id: web"),
    inv("bad-id", _ROOM, "  - id: Room 101\n    name: 教学楼 101\n", ("classrooms[0].id", "lowercase"),
        "id: Room 101"),
    inv("unknown-vendor", "vendor: huawei", "vendor: huawai", ("devices[0].vendor", "'huawei'"), "vendor:"),
    inv("missing-section", "scope:\n  allow: [10.200.0.0/16]\n", "",
        ("scope", "required field is missing", "add it"), 1),
    inv("not-a-mapping", GOOD, "- just\n- a list\n", ("(top level)", "mapping"), 1),
    inv("non-scalar-key", "version: 1\n", "version: 1\n[a, b]: c\n", ("key must be a plain name",), "[a, b]"),
    inv("authorisation-reversed", "  valid_until: 2099-12-31", "  valid_until: 2019-12-31",
        ("authorisation.valid_until", "before 'valid_from'"), "valid_until:"),
    inv("authorisation-no-document", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: letter.pdf",
        ("authorisation.document", "not a readable file"), "document:"),
    inv("authorisation-missing", "authorisation:\n  authorised_by: 张校长\n  role: 校长\n"
        "  reference: T-AUTH-2026-001\n  valid_from: 2020-01-01\n  valid_until: 2099-12-31\n", "",
        ("authorisation", "no authorisation record", "written permission"), None, run=True),
    inv("authorisation-expired", "  valid_until: 2099-12-31", "  valid_until: 2021-12-31",
        ("authorisation.valid_until", "expired on 2021-12-31", "today is", "renew it"), "valid_until:",
        run=True),
    inv("authorisation-not-yet", "  valid_from: 2020-01-01\n  valid_until: 2099-12-31",
        "  valid_from: 2098-01-01\n  valid_until: 2099-12-31",
        ("authorisation.valid_from", "starts on 2098-01-01"), "valid_from:", run=True),
    # what the inventory names is copied into the signed bundle: only a signed document, by content
    inv("authorisation-document-is-secrets", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: secrets.yaml", ("authorisation.document",
        "is the inventory's secrets file", "never copied"), "document:", base=SECRET_GOOD,
        extra={"secrets.yaml": "snmp-ro: campus-ro\n"}),
    inv("authorisation-document-is-text", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: letter.pdf", ("authorisation.document",
        "not a PDF, PNG, JPEG, TIFF, OFD or DOCX file by its content"), "document:",
        extra={"letter.pdf": "I allow the audit. 张校长\n"}),
    inv("authorisation-document-private-key", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: scan.pdf", ("authorisation.document", "holds a private key"),
        "document:", extra={"scan.pdf": b"%PDF-1.4\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n"}),
    inv("authorisation-document-known-hosts", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: hosts.png", ("authorisation.document", "known_hosts"),
        "document:", extra={"hosts.png": "10.200.9.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n"}),
    inv("authorisation-document-too-big", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: big.pdf", ("authorisation.document", "21.0 MiB",
        "more than the 20 MiB"), "document:",
        extra={"big.pdf": lambda: b"%PDF-1.4\n" + b"0" * (21 * 2**20 - 9)}),
    inv("authorisation-document-directory", "  valid_until: 2099-12-31",
        "  valid_until: 2099-12-31\n  document: letters", ("authorisation.document", "not a readable file"),
        "document:", extra={"letters/a.pdf": b"%PDF-1.4"}),
    # what YAML 1.1 reads differently from what was meant
    inv("class-hours-unquoted", "version: 1\n",
        "version: 1\nschedule:\n  class_hours:\n    - {days: [mon], start: 8:00, end: '09:00'}\n",
        ("schedule.class_hours[0].start", "YAML reads an unquoted 8:00 as the number 480", 'write "08:00"'),
        "- {days"),
    inv("class-hours-boolean", "version: 1\n",
        "version: 1\nschedule:\n  class_hours:\n    - {days: [mon], start: '08:00', end: on}\n",
        ("schedule.class_hours[0].end", "write the time in quotes"), "- {days"),
    inv("port-yes", "endpoint: {address: 10.200.11.2}", "endpoint: {address: 10.200.11.2, port: yes}",
        ("classrooms[0].endpoint.port", "valid integer", "True"), "endpoint:"),
    inv("published-yes", "version: 1\n",
        "version: 1\nfirewalls:\n  - id: fw\n    published: [yes]\n",
        ("firewalls[0].published[0]",), "published:"),
    inv("port-float", "endpoint: {address: 10.200.11.2}", "endpoint: {address: 10.200.11.2, port: 5201.0}",
        ("classrooms[0].endpoint.port", "valid integer"), "endpoint:"),
    inv("rate-1e30", "    name: 教学楼 101\n", "    name: 教学楼 101\n    rate_mbps: 1.0e+30\n",
        ("classrooms[0].rate_mbps", "valid integer"), "rate_mbps:"),
    inv("rate-past-bound", "    name: 教学楼 101\n", "    name: 教学楼 101\n    rate_mbps: 1000000\n",
        ("classrooms[0].rate_mbps", "less than or equal to 400000"), "rate_mbps:"),
    inv("scope-everything", "[10.200.0.0/16]", "[0.0.0.0/0]",
        ("scope", "0.0.0.0/0 is wider than a /8", "allow_wide: true"), "scope:"),
    inv("scope-wide-7", "[10.200.0.0/16]", "[10.0.0.0/16, 8.0.0.0/7]",
        ("scope", "8.0.0.0/7 is wider than a /8"), "scope:"),
    inv("scope-allow-wide-not-bool", "  allow: [10.200.0.0/16]",
        "  allow: [0.0.0.0/0]\n  allow_wide: 'yes'",
        ("scope.allow_wide", "valid boolean"), "allow_wide:"),
    inv("secret-value-boolean", "version: 1\n", "version: 1\n",
        ("secrets_file", "secret 'snmp-ro' is bool True", "write the value in quotes"), "secrets_file:",
        base=SECRET_GOOD, extra={"secrets.yaml": "snmp-ro: yes\n"}, modes={"secrets.yaml": 0o600}),
    inv("secret-value-octal", "version: 1\n", "version: 1\n", ("secrets_file", "secret 'snmp-ro' is int 83"),
        "secrets_file:", base=SECRET_GOOD, extra={"secrets.yaml": "snmp-ro: 0123\n"},
        modes={"secrets.yaml": 0o600}),
    Case("empty-file", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": b""},
         ("the file is empty",), ("site.yaml", 1)),
    Case("comments-only", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": "# nothing\n# here\n"},
         ("the file is empty",), ("site.yaml", 1)),
    Case("non-utf8", "inventory", ("validate", "{tmp}/site.yaml"),
         {"site.yaml": GOOD.encode().replace("测试学校".encode(), "测试学校".encode("gb18030"))},
         ("not UTF-8", "save the file as UTF-8"), ("site.yaml", "name:")),
    Case("alias-bomb", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": _alias_bomb},
         ("expand to more than 100000 values", "alias bomb"), ("site.yaml", "f: &f")),
    Case("alias-deep", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": _alias_deep},
         ("nested more than 32 levels", "following aliases"), None),
    Case("file-50mb", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": _huge},
         ("50.", "MiB", "right file"), None),
    Case("deep-nesting", "inventory", ("validate", "{tmp}/site.yaml"), {"site.yaml": _deep},
         ("nested more than 32 levels",), ("site.yaml", GOOD.count("\n") + 1)),
    Case("file-not-found", "inventory", ("validate", "{tmp}/nowhere.yaml"), {}, ("file not found",
         "check the path"), None),
    Case("directory-not-file", "inventory", ("validate", "{tmp}/dir.yaml"), {"dir.yaml/x": ""},
         ("is a directory",), None),
    # `run --lab` (an authorisation bypass for the demo school) is gone: the demo school's inventory
    # carries its own authorisation record
    Case("lab-option-is-gone", "inventory", ("run", "-q", "-i", "{tmp}/site.yaml", "-p",
         "beijing-smart-campus-2023", "-o", "{tmp}/out", "--key-dir", "{keys}", "--lab"),
         {"site.yaml": GOOD}, ("No such option", "--lab"), None),
]

PROFILE_CASES = [
    prof("profile-yaml-syntax", "title: a small profile", "title: [a small profile", ("invalid YAML",),
         "version:"),
    prof("profile-unknown-check", "check: bandwidth.uplink_goodput", "check: bandwidth.uplink_goodputt",
         ("groups[0].items[0].checks[0].check", "unknown check 'bandwidth.uplink_goodputt'", "installed:"),
         "check: bandwidth.uplink_goodputt"),
    prof("profile-nmap-rate", "groups:\n", _settings("nmap.services", "max_rate: 100000"),
         ("probe_settings.nmap.services.max_rate", "less than or equal to 1000", "documented bounds"),
         "max_rate:"),
    prof("profile-nmap-insane-timing", "groups:\n", _settings("nmap.services", "timing: 5"),
         ("probe_settings.nmap.services.timing",), "timing:"),
    prof("profile-arp-rate", "groups:\n", _settings("discovery.arp_sweep", "inter: 0.00001"),
         ("probe_settings.discovery.arp_sweep.inter", "greater than or equal to 0.001"), "inter:"),
    prof("profile-dhcp-retries", "groups:\n", _settings("discovery.dhcp", "retry: 50"),
         ("probe_settings.discovery.dhcp.retry", "less than or equal to 5"), "retry:"),
    prof("profile-unknown-probe", "groups:\n", _settings("nmap.service", "max_rate: 10"),
         ("probe_settings.nmap.service", "no such probe"), "nmap.service:"),
    prof("profile-schema-version", "schema: 2", "schema: 3", ("schema", "2"), "schema: 3"),
    prof("profile-missing-title", "title: a small profile\n", "",
         ("title", "required field is missing"), None),
    prof("profile-duplicate-key", "version: \"1\"\n", "version: \"1\"\nversion: \"2\"\n",
         ("duplicate key 'version'",), "version: \"2\""),
    Case("profile-unknown-name", "profile", ("run", "-q", "-i", "{tmp}/site.yaml", "-p",
         "gbt22239-2019-level9", "-o", "{tmp}/out", "--key-dir", "{keys}"), {"site.yaml": GOOD},
         ("unknown profile 'gbt22239-2019-level9'", "built-in profiles"), None),
]

WAIVER_CASES = [
    waiver("waiver-missing-approver", "    approver: 张校长\n", "", ("waivers[0].approver",
           "required field is missing"), "- check:"),
    waiver("waiver-expires-before-start", "expires: 2099-12-31", "expires: 2025-12-31",
           ("waivers[0].expires", "before 'start'"), "expires:"),
    waiver("waiver-bad-date", "start: 2026-01-01", "start: 2026-13-01", ("waivers[0].start", "YYYY-MM-DD"),
           "start:"),
    waiver("waiver-unknown-field", "    risk: medium", "    risk: medium\n    owner: 李老师",
           ("waivers[0].owner", "unknown field"), "owner:"),
    waiver("waiver-bad-risk", "risk: medium", "risk: tiny", ("waivers[0].risk", "'low'"), "risk:"),
    waiver("waiver-nothing-waived", "  - check: bandwidth.classroom_goodput\n    target:", "  - target:",
           ("waivers[0]", "names a 'check'"), "- target:"),
]

ATTESTATION_CASES = [
    attestation("attestation-bad-digest", f"sha256: {EVIDENCE_SHA}", "sha256: abc123",
                ("evidence[0].sha256", "should match pattern"), "sha256: abc123"),
    attestation("attestation-evidence-missing", "by: 王老师", "by: 王老师", ("evidence policy.pdf",
                "missing or altered"), None, evidence=False),
    attestation("attestation-unknown-field", "by: 王老师", "by: 王老师\nphone: 123",
                ("phone", "unknown field"), "phone:"),
    attestation("attestation-bad-time", "at: 2026-11-01T08:00:00+00:00", "at: yesterday",
                ("at", "date and time"), "at: yesterday"),
    Case("attest-evidence-not-found", "attestation",
         ("attest", "smart-env.facilities.2", "--evidence", "{tmp}/missing.pdf", "--by", "王老师",
          "--role", "主任", "--profile", "beijing-smart-campus-2023", "--store", "{tmp}/store"), {},
         ("--evidence", "missing.pdf", "not a readable file"), None),
    Case("attest-unknown-item", "attestation",
         ("attest", "no.such.item", "--evidence", "{tmp}/e.pdf", "--by", "王老师", "--role", "主任",
          "--store", "{tmp}/store"), {"e.pdf": EVIDENCE},
         ("'no.such.item' is not an item", "auditor profiles --items"), None),
]

CLI_CASES = [
    cli("cli-unknown-option", ("run", "--no-such-option"), ("No such option", "--no-such-option")),
    cli("cli-unknown-command", ("audit-everything",), ("No such command", "audit-everything")),
    cli("cli-concurrency-zero", ("run", "-i", "{tmp}/site.yaml", "-p", "x", "-o", "{tmp}/o", "--concurrency",
        "0"), ("--concurrency", "0")),
    cli("cli-missing-inventory-option", ("run", "-p", "x", "-o", "{tmp}/o"),
        ("Missing option", "--inventory")),
    cli("cli-bad-format", ("run", "-q", "-i", "{tmp}/site.yaml", "-p", "beijing-smart-campus-2023", "-o",
        "{tmp}/o", "--key-dir", "{keys}", "--format", "html,doc"), ("--format doc", "no such renderer")),
    cli("cli-bad-set", ("run", "-q", "-i", "{tmp}/site.yaml", "-p", "beijing-smart-campus-2023", "-o",
        "{tmp}/o", "--key-dir", "{keys}", "--set", "nmap"), ("--set", "PROBE.SETTING=VALUE")),
    cli("cli-set-past-rate-bound", ("run", "-q", "-i", "{tmp}/site.yaml", "-p", "beijing-smart-campus-2023",
        "-o", "{tmp}/o", "--key-dir", "{keys}", "--set", "iperf3.bandwidth.runs=100"),
        ("iperf3.bandwidth", "runs", "less than or equal to 9")),
    cli("cli-out-not-empty", ("run", "-q", "-i", "{tmp}/site.yaml", "-p", "beijing-smart-campus-2023", "-o",
        "{tmp}/full", "--key-dir", "{keys}"), ("--out", "not empty", "new directory"),
        files={"full/old.txt": "x"}),
    cli("cli-verify-key-and-trusted", ("verify", "{tmp}", "--key", "{keys}/agent-ed25519.pub",
        "--trusted-keys", "{keys}"), ("--key or --trusted-keys, not both",)),
    cli("cli-verify-trusted-not-dir", ("verify", "{tmp}", "--trusted-keys", "{tmp}/no-keys"),
        ("--trusted-keys", "not a directory")),
    cli("cli-verify-trusted-not-a-key", ("verify", "{tmp}", "--trusted-keys", "{tmp}/tk"),
        ("--trusted-keys", "not an Ed25519 or SM2 public key"), files={"tk/x.pub": "not a key\n"}),
]

CASES: list[Case] = [*INVENTORY_CASES, *PROFILE_CASES, *WAIVER_CASES, *ATTESTATION_CASES, *CLI_CASES]


def prepare(case: Case, tmp: Path, keys: Path) -> tuple[list[str], str | None]:
    """Write the case's files under ``tmp``; return its argv and the ``file:line`` it must name."""
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content() if callable(content) else content
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        path.chmod(case.modes.get(name, 0o600 if name.endswith("secrets.yaml") else 0o644))
    argv = [a.replace("{tmp}", str(tmp)).replace("{keys}", str(keys)) for a in case.argv]
    if case.where is None:
        return argv, None
    name, marker = case.where
    if isinstance(marker, int):
        return argv, f"{tmp / name}:{marker}:"
    content = case.files[name]
    text = (content() if callable(content) else content)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    line = next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    return argv, f"{tmp / name}:{line}:"


def judge(case: Case, returncode: int, stderr: str, where: str | None) -> list[str]:
    """What is wrong with the CLI's answer to a bad input (empty: a clear error)."""
    problems = []
    if returncode != 2:
        problems.append(f"exit {returncode}, not 2")
    if "Traceback" in stderr or "internal error" in stderr:
        problems.append("a traceback or internal error")
    lines = [row for row in stderr.splitlines() if all(part in row for part in case.expect)]
    if not lines:
        problems.append(f"no one line says all of {case.expect}")
    if where is not None and not any(where in row for row in lines):
        problems.append(f"the message does not name {where}")
    return problems
