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
from auditor.messages import Msg, choice, define, english
from auditor.vendors.config import ANSI, ConfigTree, Style, clean, ends_with
from auditor.vendors.mask import mask_line

# What every family says about its outputs and defaults. The notes and reasons travel in the typed
# facts as English strings rendered from these messages (``auditor.messages.recover`` turns them back).
define({
    "vendor.default_note": ("厂商默认值（{releases}）：{source}", "vendor default ({releases}): {source}"),
    "vendor.default_note_any": ("厂商默认值：{source}", "vendor default: {source}"),
    "vendor.command_failed": ("命令 `{command}` 执行失败：{why}", "`{command}` failed: {why}"),
    "vendor.not_collected": ("未采集命令 `{command}` 的输出", "`{command}` was not collected"),
    "vendor.answered_nothing": ("命令 `{command}` 没有任何输出", "`{command}` answered nothing"),
    "vendor.user_mode": ("命令 `{command}` 在用户模式下被拒绝（提示符 `{prompt}`）：登录账号权限不足，"
                         "无法读取；{fix}，或改用 15 级权限账号",
                         "`{command}` was refused in user mode (prompt `{prompt}`): the login lacks the "
                         "privilege to read it; {fix}, or use a privilege-15 account"),
    "vendor.give_enable": ("请在清单中提供 `ssh.enable` 特权口令",
                           "give the inventory's `ssh.enable` secret"),
    "vendor.enable_failed": ("所给的 enable 口令未能进入特权模式",
                             "the enable secret did not reach privileged mode"),
    "vendor.error_reply": ("命令 `{command}` 返回错误：{reply}",
                           "`{command}` answered with an error: {reply}"),
    "vendor.pager": ("命令 `{command}` 的输出停在分页提示处：输出不完整",
                     "`{command}` stopped at a pager prompt: the output is cut"),
    "vendor.config_cut": ("配置未以 {family} 打印配置时的结束行 `{terminator}` 结尾：配置不完整，"
                          "缺失部分无法判断",
                          "the configuration does not end with `{terminator}` as {family} prints it: it is "
                          "cut, and what is missing cannot be judged"),
    "vendor.no_default": ("{family}：{setting}没有文档记载的默认值",
                          "{family}: no documented default for {setting}"),
    "vendor.default_differs": ("{family}：{setting}的默认值因软件版本而异，而未读取到软件版本（请提供版本输"
                               "出，或提供注明版本的配置）",
                               "{family}: the default of {setting} differs between software releases and "
                               "the release was not read (give the version output, or a configuration that "
                               "names its release)"),
    "vendor.release_unread": ("未读取到软件版本；文档记载的所有版本均为此默认值",
                              "software release not read; every release documented has this default"),
    "vendor.software": ("软件版本 {software}", "software {software}"),
    "vendor.undocumented": ("{family}（{how}）：{setting}的默认值没有文档记载",
                            "{family} ({how}): the default of {setting} is not documented"),
    "vendor.undocumented_why": ("{family}（{how}）：{setting}的默认值没有文档记载：{why}",
                                "{family} ({how}): the default of {setting} is not documented: {why}"),
    "vendor.default_how": ("{how}；{doc}", "{how}; {doc}"),
    "vendor.not_expressible": ("{family}：{why}", "{family}: {why}"),
    "vendor.no_usable_output": ("没有可用的 `{command}` 输出", "no usable `{command}` output"),
    "vendor.unrecognised": ("无法识别 `{command}` 的输出", "the `{command}` output was not recognised"),
    "vendor.notes": ("{first}；{second}", "{first}; {second}"),
    "vendor.not_documented": ("未见文档说明", "not documented"),
    "vendor.release.all": ("所有版本", "all"),
    # what a stored secret is (the check names it)
    "vendor.what.password": ("{section} 的口令", "{section} password"),
    "vendor.what.key": ("{section} 的密钥", "{section} key"),
    "vendor.a_line": ("某条线路", "a line"),
    "vendor.no_vty": ("配置中没有 VTY 线路", "the configuration has no VTY line"),
    "vendor.no_vty_path": ("配置中没有 VTY 线路，无法判断远程登录路径",
                           "the configuration has no VTY line, so the remote login path cannot be judged"),
    "vendor.how_not_documented": ("{lines} 的认证方式没有文档记载",
                                  "how {lines} authenticate is not documented"),
    "vendor.logging_off": ("日志功能已关闭", "logging is switched off"),
    "vendor.no_password": ("未配置口令", "no password configured"),
    "vendor.doc.console_port": ("控制台线路只能通过其物理端口访问",
                                "a console line is reached through its port only"),
    "vendor.doc.aux_port": ("AUX 线路只能通过其物理端口访问", "an AUX line is reached through its port only"),
    "vendor.login.generic": ("通用默认账号", "generic default"),
    "vendor.login.empty": ("空口令", "empty password"),
    "vendor.config_release": ("配置文件头部注明的版本；未读取 `{command}` 输出",
                              "the release the configuration names in its header; no `{command}` read"),
    "vendor.config_version_line": ("配置中 `version` 行注明的版本；未读取 `{command}` 输出",
                                   "the release the configuration names (`version` line); no `{command}` "
                                   "read"),
    # the settings whose defaults the families document (the note names the setting)
    "vendor.setting.telnet_server": ("Telnet 服务", "telnet_server"),
    "vendor.setting.ssh_server": ("SSH 服务", "ssh_server"),
    "vendor.setting.ssh_v1": ("SSHv1 兼容", "ssh_v1"),
    "vendor.setting.http_server": ("HTTP 服务", "http_server"),
    "vendor.setting.https_server": ("HTTPS 服务", "https_server"),
    "vendor.setting.idle_timeout_s": ("空闲超时", "idle_timeout_s"),
    "vendor.setting.lockout": ("登录失败锁定", "lockout"),
    "vendor.setting.vty_protocols": ("VTY 线路接入协议", "vty_protocols"),
    "vendor.setting.console_protocols": ("控制台线路接入协议", "console_protocols"),
    "vendor.setting.aux_protocols": ("AUX 线路接入协议", "aux_protocols"),
    "vendor.setting.console_login": ("控制台登录认证方式", "console_login"),
    "vendor.setting.vty_login": ("VTY 登录认证方式", "vty_login"),
    "vendor.setting.aux_login": ("AUX 登录认证方式", "aux_login"),
    "vendor.setting.snmp_versions": ("SNMP 版本", "snmp_versions"),
    "vendor.setting.hwtacacs": ("HWTACACS 开关", "hwtacacs"),
    "vendor.setting.password_control": ("口令控制", "password_control"),
    "vendor.setting.default_domain": ("默认 ISP 域", "default_domain"),
    "vendor.setting.password_recovery": ("口令恢复", "password_recovery"),
}, recoverable=True)


def note_pair(first: str, second: str) -> str:
    """Two notes as one (either may be empty)."""
    if first and second:
        return english("vendor.notes", first=first, second=second)
    return first or second

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
    source: str | Msg  # the document (a message: the quotation in the reader's language)
    releases: str | Msg = ""

    def note(self) -> str:
        releases = (choice("vendor.release", self.releases) if isinstance(self.releases, str)
                    else self.releases)
        if releases:
            return english("vendor.default_note", releases=releases, source=self.source)
        return english("vendor.default_note_any", source=self.source)


@dataclass(frozen=True)
class Rule:
    """A default by release: ``pattern`` matches the software version (None: any release);
    ``default`` None means no document states it for those releases."""

    pattern: str | None
    default: Documented | None
    why: str | Msg = ""  # for an undocumented default: what is known


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
    negation: ClassVar[str]  # the prefix that reverses a command ("undo " / "no ")
    comment: ClassVar[str]  # what starts a comment line in the CLI ("#" / "!")
    commands: ClassVar[Mapping[str, str]]  # output kind -> command
    error_replies: ClassVar[tuple[str, ...]] = ()  # regexes of this CLI's error answers
    default_logins: ClassVar[tuple[tuple[str, str, str], ...]] = ()  # (user, password, source)
    default_account_names: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, tuple[Rule, ...]]] = {}
    # settings this family's configuration cannot state
    not_expressible: ClassVar[Mapping[str, str | Msg]] = {}
    remediation: ClassVar[Mapping[str, tuple[str, ...]]] = {}  # check id -> commands (placeholders)

    # -- the evidence rule -----------------------------------------------------------------------

    def classify(self, kind: str, outputs: Outputs) -> OutputState:  # noqa: PLR0911 - one return per state
        """Whether output ``kind`` can be read as evidence, and if not, why."""
        command = self.commands.get(kind, kind)
        if kind in outputs.failures:
            return OutputState(status="missing", command=command, reason=english(
                "vendor.command_failed", command=command, why=outputs.failures[kind]))
        text = outputs.texts.get(kind)
        if text is None:
            return OutputState(status="missing", reason=english("vendor.not_collected", command=command),
                               command=command)
        lines = [line for line in clean(text) if line.strip()]
        if not lines:
            return OutputState(status="empty", reason=english("vendor.answered_nothing", command=command),
                               command=command)
        error = self._error_reply(lines)
        if error is not None:
            if self.style == "ios" and outputs.prompt and outputs.prompt.rstrip().endswith(">"):
                fix = Msg("vendor.give_enable" if not outputs.enable_given else "vendor.enable_failed")
                return OutputState(
                    status="unprivileged", command=command,
                    reason=english("vendor.user_mode", command=command, prompt=outputs.prompt.strip(),
                                   fix=fix))
            return OutputState(status="error_reply", command=command,
                               reason=english("vendor.error_reply", command=command,
                                              reply=mask_line(error.strip())))
        raw_last = [line for line in text.replace("\r", "\n").split("\n") if line.strip()][-1]
        if _PAGER_LEFT.search(ANSI.sub("", raw_last)):
            return OutputState(status="incomplete", command=command,
                               reason=english("vendor.pager", command=command))
        if kind == "config" and not ends_with(lines, self.terminator):
            return OutputState(
                status="incomplete", command=command,
                reason=english("vendor.config_cut", terminator=self.terminator, family=self.title))
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
        name = choice("vendor.setting", setting)
        if not rules:
            return None, english("vendor.no_default", family=self.title, setting=name)
        if software is None:
            # the family's default, where every release documented agrees; where they differ, an
            # unread release decides nothing (a VRP 3 router with telnet on by default would pass
            # on the S-series V200R013 default otherwise)
            if len({repr(r.default.value) if r.default else None for r in rules}) > 1:
                return None, english("vendor.default_differs", family=self.title, setting=name)
            rule = rules[-1]
            how = Msg("vendor.release_unread")
        else:
            rule = next((r for r in rules if r.pattern is None or re.search(r.pattern, software, re.I)),
                        rules[-1])
            how = Msg("vendor.software", {"software": software})
        if rule.default is None:
            if rule.why:
                return None, english("vendor.undocumented_why", family=self.title, how=how, setting=name,
                                     why=rule.why)
            return None, english("vendor.undocumented", family=self.title, how=how, setting=name)
        return rule.default, english("vendor.default_how", how=how, doc=rule.default.note())

    def known_default(self, setting: str, software: str | None,
                      lines: tuple[LineRef, ...] = ()) -> Known[Any]:
        """A setting absent from a complete configuration: its documented default, or unknown; for a
        setting this family cannot state at all, ``n/a`` (the check does not apply)."""
        if setting in self.not_expressible:
            return Known(value=None, source="n/a", lines=lines, note=english(
                "vendor.not_expressible", family=self.title, why=self.not_expressible[setting]))
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
            return Known(value=None, source="unknown",
                         note=english("vendor.no_usable_output", command=self.commands.get(kind, kind)))
        found = parse(good[kind])
        if found.value is None and not found.note:
            return Known(value=None, source="unknown", lines=found.lines,
                         note=english("vendor.unrecognised", command=self.commands[kind]))
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
