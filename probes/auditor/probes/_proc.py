"""Run an external tool with a hard time limit; map OS failures to probe errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.errors import ToolMissing, ToolTimeout


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
        raise ToolMissing(f"{argv[0]} is not installed or not on PATH ({install_hint})") from None
    except PermissionError:
        raise ToolMissing(f"{argv[0]} cannot be executed (permission denied)") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ToolTimeout(f"{what} did not finish within {timeout:.0f} s; the process was killed") from None
    assert proc.returncode is not None
    return ProcResult(proc.returncode, out, err, time.monotonic() - started)
