"""Masking of secrets in device configurations and command outputs.

Every secret is replaced by :data:`MASK` in place, keeping the keywords around it (``password
irreversible-cipher <masked>``, ``secret 9 <masked>``), so the line structure stays and a diff
between two masked configurations is meaningful. The rules are vendor-neutral: the four CLIs
share their secret-bearing keywords, and masking a token too many is harmless while missing one
is not.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "<masked>"

# A secret token: Huawei's %^%#...%^%# / %@%@...%@%@ cipher forms, or one non-blank token.
_TOKEN = r"(?:%\^%#.*?%\^%#|%@%@.*?%@%@|(?!<masked>)\S+)"  # noqa: S105 - a pattern, not a password
_TYPE_WORDS = r"(?:simple|cipher|irreversible-cipher|hash|plain|sha\S*|md5)"
# Words that follow "password" in policy commands, never a secret themselves.
_POLICY_WORDS = (r"(?:history|expire|policy|retry-interval|complexity-check|alert-before-expire|"
                 r"alert-original|min-length|minimum-length|encryption|change|aging|length|"
                 r"control|restrict|recovery|strong-password)")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    # Huawei / H3C typed secrets: "password irreversible-cipher X", "shared-key cipher X",
    # "community read simple X", "key authentication cipher X", "password hash X".
    (rf"(\b(?:simple|cipher|irreversible-cipher|plain)\s+)(?:(plain|cipher)\s+)?"
     rf"(?!(?:authentication-mode|privacy-mode)\b){_TOKEN}",
     rf"\g<1>\g<2>{MASK}"),
    (rf"(\bpassword\s+hash\s+){_TOKEN}", rf"\g<1>{MASK}"),
    # SNMPv3 keys: Huawei/H3C "authentication-mode sha X privacy-mode aes128 Y" (no type word),
    # Cisco/Ruijie "auth sha X priv aes 128 Y".
    # (only after an algorithm name: "authentication-mode hwtacacs local" in an AAA scheme is no key)
    (rf"(\b(?:authentication-mode\s+(?:md5|sha\S*)|privacy-mode\s+(?:3?des\S*|aes\S*))\s+)"
     rf"(?!{_TYPE_WORDS}\b){_TOKEN}", rf"\g<1>{MASK}"),
    (rf"(\bauth\s+(?:md5|sha\S*)\s+)(?:(0|7)\s+)?{_TOKEN}", rf"\g<1>{MASK}"),
    (rf"(\bpriv\s+(?:3?des\S*|aes(?:\s+(?:128|192|256))?|aes\d+)\s+)(?:(0|7)\s+)?{_TOKEN}",
     rf"\g<1>{MASK}"),
    # Cisco / Ruijie passwords and secrets: "password 7 X", "secret 9 X", "enable secret level 15 5 X".
    # (not policy keywords: "password history record number 5", "wrong-password retry-interval 5")
    (rf"(\b(?:password|secret)\s+(?:level\s+\d+\s+)?(?:\d\s+)?)"
     rf"(?!{_TYPE_WORDS}\b|level\b|{_POLICY_WORDS}\b){_TOKEN}",
     rf"\g<1>{MASK}"),
    # A trailing MD5 key: "message-digest-key 1 md5 7 X".
    (rf"(\bmd5\s+(?:\d\s+)?)(?=\S+\s*$){_TOKEN}", rf"\g<1>{MASK}"),
    # Shared keys and key strings: "key 7 X", "key-string X", "pre-shared-key ascii 0 X".
    (rf"(\b(?:key-string|pre-shared-key|key)\s+(?:(?:ascii|hex)\s+)?(?:\d\s+)?)"
     rf"(?!(?:generate|zeroize|chain|config-key|authentication|accounting|authorization|simple|cipher|md5)\b)"
     rf"{_TOKEN}", rf"\g<1>{MASK}"),
    # SNMP communities in configuration: "snmp-server community [0|7] X ...",
    # "snmp-agent community read|write X" (the typed forms are handled above).
    (rf"(\bsnmp-server\s+community\s+(?:\d\s+)?){_TOKEN}", rf"\g<1>{MASK}"),
    (rf"(\bsnmp-agent\s+community\s+(?:read|write)\s+)(?!(?:simple|cipher)\b){_TOKEN}", rf"\g<1>{MASK}"),
    # Trap targets carry the community: "snmp-server host A [traps|informs] [version 2c] X",
    # "snmp-agent target-host ... securityname X".
    (rf"(\bsnmp-server\s+host\s+\S+\s+(?:(?:traps|informs)\s+)?(?:version\s+(?:1|2c|3\s+\S+)\s+)?)"
     rf"{_TOKEN}", rf"\g<1>{MASK}"),
    (rf"(\bsecurityname\s+)(?!cipher\b){_TOKEN}", rf"\g<1>{MASK}"),
    # Command outputs: "Community name: X", "Community SecurityName: X".
    (r"^(\s*Community\s+(?:name|SecurityName)\s*:\s*).+?(\s*)$", rf"\g<1>{MASK}\g<2>"),
    # Any Huawei cipher string left (e.g. "Group name: %^%#...%^%#" in community listings).
    (r"%\^%#.*?%\^%#|%@%@.*?%@%@", MASK),
))


# Every rule above needs one of these words: a line with none of them has nothing to mask (most
# lines of a configuration), and skips the rules.
_ANY_TRIGGER = re.compile(r"simple|cipher|plain|password|secret|auth|priv|md5|key|community|snmp-server|"
                          r"securityname|%\^%#|%@%@", re.IGNORECASE)


@lru_cache(maxsize=4096)
def mask_line(line: str) -> str:
    """One line with every secret replaced by :data:`MASK`."""
    if not _ANY_TRIGGER.search(line):
        return line
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    return line


def mask_config(vendor: str, text: str) -> str:
    """``text`` (a configuration or a command output) with every secret replaced by ``<masked>``.

    Lines and line endings are kept, so masked configurations can be diffed. ``vendor`` is
    accepted for the contract's sake; the rules cover the four supported CLIs at once.
    """
    del vendor
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append(mask_line(body) + line[len(body):])
    return "".join(out)
