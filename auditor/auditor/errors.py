"""One rooted exception hierarchy; each class carries the exit code the CLI ends with.

Library code raises these; only the CLI turns them into exit codes (``exc.exit_code``, as
click's exceptions do). Third-party errors (pysnmp, subprocess, OS errors) are mapped to these at
the probe boundary.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0  # every check passed; the bundle verifies and its signer is trusted
EXIT_FINDINGS = 1  # a check failed, errored or was skipped; a bundle does not verify
EXIT_INPUT = 2  # bad input or usage: nothing was done
EXIT_INTERNAL = 3  # a bug
EXIT_UNTRUSTED = 4  # a bundle is intact but signed by a key the verifier does not trust
EXIT_UNAVAILABLE = 5  # a service the command needs (database, server) did not answer: retry later


class AuditorError(Exception):
    """Root of every error the auditor raises on purpose."""

    exit_code: ClassVar[int] = EXIT_INPUT


class InputError(AuditorError):
    """A user-supplied file or option is wrong. The message names the file, line and field."""


class SecretError(InputError):
    """A credential reference cannot be resolved (unset variable, unsafe secrets file)."""


class RegistryError(AuditorError):
    """A plugin is missing, duplicated or does not satisfy its protocol."""


class SigningKeyError(AuditorError):
    """The signing key is missing, unreadable or has unsafe permissions."""


class ProbeError(AuditorError):
    """A probe could not measure its target. Becomes an ``error`` result, never a crash."""


class ToolMissing(ProbeError):
    """An external tool (iperf3, nmap, ...) is not installed."""


class ToolTimeout(ProbeError):
    """An external tool or device did not answer within its time limit (and was killed)."""


class TargetUnreachable(ProbeError):
    """The target refused the connection or did not answer."""


class TargetBusy(ProbeError):
    """The target is busy (for example an iperf3 server already running a test)."""


class AuthFailed(ProbeError):
    """The target rejected our credentials."""


class HostKeyRejected(ProbeError):
    """An SSH host key is unknown (and first contact is not allowed) or differs from the recorded one."""


class OutOfScope(ProbeError):
    """The target lies outside the inventory's scope allow-list; the probe refused to run."""


class VerificationError(AuditorError):
    """A report bundle cannot be read well enough to verify it."""

    exit_code = EXIT_FINDINGS


class ServiceUnavailable(AuditorError):
    """A service the command needs (a database, the district server) did not answer; nothing was
    changed, and the same command can be retried later."""

    exit_code = EXIT_UNAVAILABLE
