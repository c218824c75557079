"""Runs Debian's headless ``chromium`` for the PDF and for screenshots.

Always with background networking off and a throw-away profile, killed when it outlives its
time limit. The pages it loads are self-contained and request nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from auditor.errors import AuditorError

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--hide-scrollbars", "--disable-extensions")


class ChromiumError(AuditorError):
    """Chromium is missing, failed or hung."""


def executable() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise ChromiumError("chromium is not installed (Debian package chromium; scripts/setup.sh "
                            "installs it)")
    return exe


def run(page: Path, args: Sequence[str], timeout: float = 180) -> None:
    """Load ``page`` in headless chromium with extra ``args`` (e.g. ``--print-to-pdf=...``)."""
    exe = executable()
    with tempfile.TemporaryDirectory(prefix="auditor-chromium-") as profile:
        try:
            subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                           capture_output=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"chromium did not finish {page.name} within {timeout:.0f} s "
                                "(killed)") from None
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if exc.stderr else []
            raise ChromiumError(f"chromium failed on {page.name} (exit {exc.returncode}) "
                                f"{' '.join(tail)}") from None
