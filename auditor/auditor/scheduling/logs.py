"""Structured logs of scheduled runs: JSON lines in a rotating file, and syslog/journal when present.

Every record passes through the secret masker before it is written anywhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.secrets import SecretResolver

LOGGER = "campus_auditor.schedule"


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, event, school, run, message."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "event": getattr(record, "event", record.name),
            "school": getattr(record, "school", None), "run": getattr(record, "run", None),
            "message": record.getMessage(),
        }
        return json.dumps(doc, ensure_ascii=False)


class Masking(logging.Filter):
    """Replaces every resolved secret value in the message (the resolver's set grows as a run goes)."""

    def __init__(self, resolvers: list[SecretResolver]) -> None:
        super().__init__()
        self.resolvers = resolvers

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for resolver in self.resolvers:
            text = resolver.mask(text)
        record.msg, record.args = text, None
        return True


def setup(log_dir: Path, resolvers: list[SecretResolver]) -> logging.Logger:
    """The schedule logger: rotating ``auditor.jsonl`` (5 × 1 MiB) and syslog if ``/dev/log`` exists."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    handlers: list[logging.Handler] = [logging.handlers.RotatingFileHandler(
        log_dir / "auditor.jsonl", maxBytes=1 << 20, backupCount=5, encoding="utf-8")]
    if Path("/dev/log").exists():
        with contextlib.suppress(OSError):  # a socket that is not listening: file only
            syslog = logging.handlers.SysLogHandler(address="/dev/log")
            syslog.ident = "campus-auditor: "  # the journal's SYSLOG_IDENTIFIER
            handlers.append(syslog)
    masking = Masking(resolvers)
    for handler in handlers:
        handler.setFormatter(JsonLines())
        handler.addFilter(masking)
        logger.addHandler(handler)
    return logger


def event(logger: logging.Logger, name: str, message: str, school: str, run: str | None = None,
          level: int = logging.INFO) -> None:
    logger.log(level, message, extra={"event": name, "school": school, "run": run})
