"""The engine, the channels and the two files between runs: the alert state and the delivery log.

``Alerter.run(now, evaluations)`` loads the state, lets the engine decide, delivers each message
to its rule's channels, tells the engine which were taken, saves the state after every message
(so a crash re-sends at most the one message in flight) and appends every delivery attempt to
the log (JSON lines, one :class:`~auditor.alerts.channels.Delivery` each, secrets masked).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from auditor.alerts.channels import Channel, Delivery, build_channels
from auditor.alerts.config import AlertsConfig, load_alerts
from auditor.alerts.engine import Engine, EngineState, Evaluation, MuteFn, Record
from auditor.errors import InputError

STATE_NAME = "alerts-state.json"
LOG_NAME = "alerts-deliveries.jsonl"


class Alerter:
    """Runs the engine against saved state and delivers what it decides."""

    def __init__(self, cfg: AlertsConfig, channels: Mapping[str, Channel], state_dir: Path, *,
                 mute: MuteFn | None = None) -> None:
        self.cfg = cfg
        self.channels = dict(channels)
        self.state_path = state_dir / STATE_NAME
        self.log_path = state_dir / LOG_NAME
        self.mute = mute

    @classmethod
    def from_file(cls, path: Path, state_dir: Path) -> Alerter:
        """The alerts file at ``path``, its channels (paths relative to its folder)."""
        cfg = load_alerts(path)
        return cls(cfg, build_channels(cfg, path.parent), state_dir)

    # ------------------------------------------------------------------ state

    def load(self) -> Engine:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            state = EngineState()
        except OSError as exc:
            raise InputError(f"{self.state_path}: cannot read the alert state: {exc.strerror}") from None
        else:
            try:
                state = EngineState.from_json(text)
            except InputError as exc:
                raise InputError(f"{self.state_path}: {exc}") from None
        return Engine.from_config(self.cfg, state, self.mute)

    def save(self, engine: Engine) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f".{self.state_path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(engine.state.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)

    def deliveries(self) -> list[Delivery]:
        """Every delivery recorded so far, oldest first."""
        try:
            lines = self.log_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [Delivery.from_dict(json.loads(line)) for line in lines if line.strip()]

    def _record(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as fh:
            for d in deliveries:
                fh.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")

    # ------------------------------------------------------------------ work

    def run(self, now: dt.datetime, evaluations: Iterable[Evaluation] = ()) -> list[Delivery]:
        """Take in ``evaluations`` made at ``now``, send what is due; the deliveries attempted."""
        engine = self.load()
        engine.observe(now, evaluations)
        done: list[Delivery] = []
        for message in engine.plan(now):
            sent = [self.channels[name].deliver(message.alert) for name in message.channels
                    if name in self.channels]  # a disabled channel is not built
            # a rule whose channels are all disabled has nowhere to send: taken as sent
            engine.commit(message, now, ok=not sent or any(d.ok for d in sent))
            self._record(sent)
            self.save(engine)
            done += sent
        self.save(engine)
        return done

    def ack(self, rule: str, subject: str, now: dt.datetime, by: str) -> Record:
        """Acknowledge a firing alert (no more reminders) and save."""
        engine = self.load()
        rec = engine.ack(rule, subject, now, by)
        self.save(engine)
        return rec
