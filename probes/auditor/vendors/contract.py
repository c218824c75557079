"""The contract every vendor family satisfies, and the parts all families share.

A family (``huawei``, ``h3c``, ``ruijie``, ``cisco``) is one module holding everything the auditor
knows of it: the commands it runs and the names of their outputs, how a complete configuration
ends, the error replies of its CLI, its parsers, the defaults its documentation states (with the
document), the well-known default logins, and the commands that fix each finding in its own
syntax. Probes and checks look a family up in :mod:`auditor.vendors`; nothing outside a family's
module knows vendor syntax.

:meth:`VendorFamily.read` turns the raw outputs of one device into a
:class:`~auditor.facts.DeviceView`, applying the evidence rule: an output that is an error reply,
empty, a pager left open or a configuration that does not end as the vendor prints it is not
evidence, and every setting that needs it is ``unknown`` with the reason, never a pass.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import ntc_templates
import textfsm

from auditor.facts import (
    Clock,
    DeviceView,
    Known,
    LineRef,
    LoggingState,
    Neighbour,
    NtpSync,
    OutputState,
    SshServer,
    VersionInfo,
)
from auditor.vendors.config import ANSI, ConfigTree, Style, clean, ends_with
from auditor.vendors.mask import mask_line

T = TypeVar("T")
TEMPLATES = Path(ntc_templates.__file__).parent / "templates"
OUTPUTS = ("config", "version", "ntp", "ssh", "interfaces", "lldp", "logging", "clock")

# What any of the four CLIs prints instead of an answer.
_COMMON_ERRORS = (
    r"^\s*%\s*(Invalid input|Unknown command|Unrecognized command|Incomplete command|Ambiguous command)",
    r"^\s*Error\s*:\s*(Unrecognized command|Wrong parameter|Incomplete command|Too many parameters)",
    r"^\s*\^\s*$",
)
_PAGER_LEFT = re.compile(r"(-{2,4}\s*More\s*-{2,4}|<--- More --->|--More--)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Documented:
    """A default a vendor document states: the value, where it is written, for which releases."""

    value: Any
    source: str
    releases: str = ""

    def note(self) -> str:
        scope = f" ({self.releases})" if self.releases else ""
        return f"vendor default{scope}: {self.source}"


@dataclass(frozen=True)
class Rule:
    """A default by release: ``pattern`` matches the software version (None: any release);
    ``default`` None means no document states it for those releases."""

    pattern: str | None
    default: Documented | None
    why: str = ""  # for an undocumented default: what is known


@dataclass(frozen=True)
class Outputs:
    """The raw outputs of one device by kind, and what the session saw (live only)."""

    texts: Mapping[str, str]
    prompt: str | None = None  # the prompt the commands ran at (``>`` is user mode on IOS/RGOS)
    enable_given: bool = False
    agent_time: float | None = None  # Unix time the ``clock`` output was read (live only)
    failures: Mapping[str, str] = field(default_factory=dict)  # kind -> why the command failed


class VendorFamily(ABC):
    """One vendor family: see the module docstring. Subclasses fill the class attributes and the
    parsing hooks; :meth:`read` is the same for all."""

    name: ClassVar[str]  # the inventory's ``vendor`` value
    title: ClassVar[str]
    style: ClassVar[Style]
    netmiko_driver: ClassVar[str]
    enterprises: ClassVar[frozenset[int]]  # SNMP enterprise numbers (sysObjectID) of its devices
    terminator: ClassVar[str]  # the last line of a complete running configuration
    commands: ClassVar[Mapping[str, str]]  # output kind -> command
    error_replies: ClassVar[tuple[str, ...]] = ()  # regexes of this CLI's error answers
    default_logins: ClassVar[tuple[tuple[str, str, str], ...]] = ()  # (user, password, source)
    default_account_names: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, tuple[Rule, ...]]] = {}
    not_expressible: ClassVar[Mapping[str, str]] = {}  # settings this family's configuration cannot state
    remediation: ClassVar[Mapping[str, tuple[str, ...]]] = {}  # check id -> commands (placeholders)

    # -- the evidence rule -----------------------------------------------------------------------

    def classify(self, kind: str, outputs: Outputs) -> OutputState:  # noqa: PLR0911 - one return per state
        """Whether output ``kind`` can be read as evidence, and if not, why."""
        command = self.commands.get(kind, kind)
        if kind in outputs.failures:
            return OutputState(status="missing", reason=f"`{command}` failed: {outputs.failures[kind]}",
                               command=command)
        text = outputs.texts.get(kind)
        if text is None:
            return OutputState(status="missing", reason=f"`{command}` was not collected", command=command)
        lines = [line for line in clean(text) if line.strip()]
        if not lines:
            return OutputState(status="empty", reason=f"`{command}` answered nothing", command=command)
        error = self._error_reply(lines)
        if error is not None:
            if self.style == "ios" and outputs.prompt and outputs.prompt.rstrip().endswith(">"):
                fix = ("give the inventory's `ssh.enable` secret" if not outputs.enable_given
                       else "the enable secret did not reach privileged mode")
                return OutputState(
                    status="unprivileged", command=command,
                    reason=(f"`{command}` was refused in user mode (prompt `{outputs.prompt.strip()}`): "
                            f"the login lacks the privilege to read it; {fix}, or use a privilege-15 "
                            "account"))
            return OutputState(status="error_reply", command=command,
                               reason=f"`{command}` answered with an error: {mask_line(error.strip())}")
        raw_last = [line for line in text.replace("\r", "\n").split("\n") if line.strip()][-1]
        if _PAGER_LEFT.search(ANSI.sub("", raw_last)):
            return OutputState(status="incomplete", command=command,
                               reason=f"`{command}` stopped at a pager prompt: the output is cut")
        if kind == "config" and not ends_with(lines, self.terminator):
            return OutputState(
                status="incomplete", command=command,
                reason=(f"the configuration does not end with `{self.terminator}` as {self.title} prints "
                        "it: it is cut, and what is missing cannot be judged"))
        return OutputState(status="ok", command=command)

    def _error_reply(self, lines: list[str]) -> str | None:
        patterns = [re.compile(p, re.IGNORECASE) for p in (*_COMMON_ERRORS, *self.error_replies)]
        head = lines[:3]  # an error is the whole answer: a long output that quotes one is not
        found = [line for line in head if any(p.search(line) for p in patterns)]
        if not found:
            return None
        # the words say more than the caret that points at the column
        return next((line for line in found if re.search(r"[A-Za-z]", line)), found[0])

    # -- defaults ------------------------------------------------------------------------------

    def default(self, setting: str, software: str | None) -> tuple[Documented | None, str]:
        """The documented default of ``setting`` for this software version, and a note saying how
        it was chosen. With the version unknown, the family's default (the last rule) is used."""
        rules = self.defaults.get(setting, ())
        if not rules:
            return None, f"{self.title}: no documented default for {setting}"
        if software is None:
            # the family's default, where every release documented agrees; where they differ, an
            # unread release decides nothing (a VRP 3 router with telnet on by default would pass
            # on the S-series V200R013 default otherwise)
            if len({repr(r.default.value) if r.default else None for r in rules}) > 1:
                return None, (f"{self.title}: the default of {setting} differs between software releases and "
                              "the release was not read (give the version output, or a configuration "
                              "that names its release)")
            rule = rules[-1]
            how = "software release not read; every release documented has this default"
        else:
            rule = next((r for r in rules if r.pattern is None or re.search(r.pattern, software, re.I)),
                        rules[-1])
            how = f"software {software}"
        if rule.default is None:
            why = f": {rule.why}" if rule.why else ""
            return None, f"{self.title} ({how}): the default of {setting} is not documented{why}"
        return rule.default, f"{how}; {rule.default.note()}"

    def known_default(self, setting: str, software: str | None,
                      lines: tuple[LineRef, ...] = ()) -> Known[Any]:
        """A setting absent from a complete configuration: its documented default, or unknown; for a
        setting this family cannot state at all, ``n/a`` (the check does not apply)."""
        if setting in self.not_expressible:
            return Known(value=None, source="n/a", note=f"{self.title}: {self.not_expressible[setting]}",
                         lines=lines)
        found, note = self.default(setting, software)
        if found is None:
            return Known(value=None, source="unknown", note=note, lines=lines)
        return Known(value=found.value, source="default", note=note, lines=lines)

    # -- reading one device --------------------------------------------------------------------

    def read(self, outputs: Outputs) -> DeviceView:
        """The view of one device from its raw outputs (see the module docstring)."""
        states = {kind: self.classify(kind, outputs) for kind in self.commands}
        # what the parsers read: as the terminal showed it (CRLF, escapes, pager prompts gone),
        # line for line, so that line numbers stay those of the evidence
        good = {kind: "\n".join(clean(outputs.texts[kind])) for kind, s in states.items() if s.status == "ok"}
        view: dict[str, Any] = {"vendor": self.name, "outputs": states,
                                "complete": states["config"].status == "ok"}
        tree = ConfigTree(good["config"], self.style, "config") if "config" in good else None
        version = self._known(good, "version", self.parse_version)
        if version.value is None and tree is not None:  # a saved configuration may name its release
            declared = self.config_software(tree)
            version = declared if declared.value is not None else version
        view["version"] = version
        software = version.value.software if version.value is not None else None
        if tree is not None:
            view.update(self.parse_config(tree, software))
        else:
            reason = states["config"].reason
            view.update({key: Known(value=None, source="unknown", note=reason) for key in CONFIG_KEYS})
        view["ntp_sync"] = self._known(good, "ntp", self.parse_ntp)
        view["lldp"] = self._known(good, "lldp", self.parse_lldp)
        view["logging"] = self._known(good, "logging", self.parse_logging)
        view["clock"] = self._known(good, "clock",
                                    lambda t: self.parse_clock(t, outputs.agent_time, good.get("config")))
        self._merge_ssh_output(view, good, states)
        self._merge_interfaces(view, good, states)
        return DeviceView.model_validate(view)

    def _known(self, good: Mapping[str, str], kind: str,
               parse: Callable[[str], Known[T]]) -> Known[T]:
        if kind not in good:
            return Known(value=None, source="unknown", note=f"no usable `{self.commands.get(kind, kind)}` "
                         "output")
        found = parse(good[kind])
        if found.value is None and not found.note:
            return Known(value=None, source="unknown", lines=found.lines,
                         note=f"the `{self.commands[kind]}` output was not recognised")
        return found

    def _merge_ssh_output(self, view: dict[str, Any], good: Mapping[str, str],
                          states: Mapping[str, OutputState]) -> None:
        """``display ssh server status`` / ``show ip ssh`` decide over the configuration (they show
        what the server does, defaults included)."""
        if "ssh" not in good:
            return
        shown = self.parse_ssh_status(good["ssh"])
        if shown.value is None:
            return
        current: Known[SshServer] = view["ssh"]
        base = current.value or SshServer()
        merged = SshServer(
            enabled=shown.value.enabled if shown.value.enabled is not None else base.enabled,
            v1_allowed=shown.value.v1_allowed if shown.value.v1_allowed is not None else base.v1_allowed,
            v1_source="output" if shown.value.v1_allowed is not None else base.v1_source,
            version=shown.value.version)
        view["ssh"] = Known(value=merged, source="output", lines=current.lines + shown.lines,
                            note=current.note if states["config"].status != "ok" else "")

    def _merge_interfaces(self, view: dict[str, Any], good: Mapping[str, str],
                          states: Mapping[str, OutputState]) -> None:
        configured = view.get("interfaces")
        links = self.parse_links(good["interfaces"]) if "interfaces" in good else None
        if links is None:
            if configured is None or configured.value is None:
                return
            view["interfaces"] = configured
            return
        from auditor.facts import Interface  # noqa: PLC0415 - local to keep the imports short

        merged: dict[str, Interface] = {i.key: i for i in (configured.value or ())} if configured else {}
        lines = list(configured.lines) if configured else []
        for key, (name, link, ref) in links.items():
            old = merged.get(key)
            if old is None:
                merged[key] = Interface(name=name, key=key, link=link, lines=(ref,))
            else:
                merged[key] = old.model_copy(update={"link": link, "lines": (*old.lines, ref)})
        del states
        view["interfaces"] = Known(value=tuple(merged.values()), source="output", lines=tuple(lines))

    # -- parsing hooks -------------------------------------------------------------------------

    @abstractmethod
    def parse_config(self, tree: ConfigTree, software: str | None) -> dict[str, Known[Any]]:
        """Every configuration-derived setting of :data:`CONFIG_KEYS`."""

    @abstractmethod
    def parse_version(self, text: str) -> Known[VersionInfo]: ...

    def config_software(self, tree: ConfigTree) -> Known[VersionInfo]:
        """The software release a configuration names itself (IOS ``version 15.2``, Comware
        `` version 7.1.045, Release 2422P01``, VRP ``!Software Version V200R019C10``), used when no
        version output was read; unknown when it names none."""
        del tree
        return Known()

    @abstractmethod
    def parse_ntp(self, text: str) -> Known[NtpSync]: ...

    @abstractmethod
    def parse_ssh_status(self, text: str) -> Known[SshServer]: ...

    @abstractmethod
    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        """Canonical interface name -> (name, ``up``/``down``/``admin-down``, the line)."""

    @abstractmethod
    def parse_lldp(self, text: str) -> Known[tuple[Neighbour, ...]]: ...

    @abstractmethod
    def parse_logging(self, text: str) -> Known[LoggingState]: ...

    @abstractmethod
    def parse_clock(self, text: str, agent_time: float | None, config: str | None) -> Known[Clock]:
        """The device's time; ``skew_s`` against the agent's clock when it was read (live only)."""


CONFIG_KEYS = ("hostname", "telnet", "ssh", "http", "https", "users", "secrets", "server_keys",
               "lockout", "lockout_enabled", "terminals", "ssh_acl", "aaa", "syslog", "ntp_servers",
               "snmp", "interfaces", "password_recovery")


# ---------------------------------------------------------------------------- shared helpers


def textfsm_rows(template: str, text: str) -> list[dict[str, Any]]:
    """Rows of an ntc-templates template (by file name without ``.textfsm``), keys lower-cased.
    An output the template rejects gives no rows: the caller reports the setting as unknown."""
    with (TEMPLATES / f"{template}.textfsm").open(encoding="utf-8") as handle:
        fsm = textfsm.TextFSM(handle)
    try:
        rows = fsm.ParseText(text)
    except textfsm.TextFSMError:
        return []
    header = [h.lower() for h in fsm.header]
    return [dict(zip(header, row, strict=True)) for row in rows]


def output_refs(output: str, text: str, *patterns: str, limit: int | None = None) -> tuple[LineRef, ...]:
    """Numbered, masked lines of an output that match any of ``patterns``."""
    regexes = [re.compile(p, re.IGNORECASE) for p in patterns]
    found = [LineRef(output=output, line=n, text=mask_line(line.rstrip()))
             for n, line in enumerate(clean(text), 1) if any(r.search(line) for r in regexes)]
    return tuple(found[:limit] if limit else found)


def line_ref(output: str, text: str, startswith: str) -> LineRef:
    """The first line of ``text`` starting (after blanks) with ``startswith``."""
    for n, line in enumerate(clean(text), 1):
        if line.strip().startswith(startswith):
            return LineRef(output=output, line=n, text=mask_line(line.rstrip()))
    return LineRef(output=output, line=0, text=startswith)
