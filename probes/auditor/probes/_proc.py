"""Run an external tool with a hard time limit; map OS failures to probe errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.errors import ToolMissing, ToolTimeout
from auditor.messages import define, english

define({
    "probe.tool.missing": ("{tool} 未安装或不在 PATH 中（{hint}）",
                           "{tool} is not installed or not on PATH ({hint})"),
    "probe.tool.not_executable": ("{tool} 无法执行（权限不足）",
                                  "{tool} cannot be executed (permission denied)"),
    "probe.tool.timeout": ("{what} 未在 {timeout:.0f} 秒内完成；已终止该进程",
                           "{what} did not finish within {timeout:.0f} s; the process was killed"),
}, recoverable=True)


@dataclass(frozen=True)
class ProcResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float


async def run_tool(argv: Sequence[str], timeout: float, what: str, install_hint: str) -> ProcResult:
    """Run ``argv``; kill it (and wait for it) if it outlives ``timeout`` or we are cancelled."""
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ToolMissing(english("probe.tool.missing", tool=argv[0], hint=install_hint)) from None
    except PermissionError:
        raise ToolMissing(english("probe.tool.not_executable", tool=argv[0])) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ToolTimeout(english("probe.tool.timeout", what=what, timeout=timeout)) from None
    assert proc.returncode is not None
    return ProcResult(proc.returncode, out, err, time.monotonic() - started)
