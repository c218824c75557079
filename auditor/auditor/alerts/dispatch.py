"""The engine, the channels and the two files between runs: the alert state and the delivery log.

``Alerter.run(now, evaluations)`` loads the state, lets the engine decide, delivers each message
to its rule's channels, tells the engine which were taken, saves the state after every message
(so a crash re-sends at most the one message in flight) and appends every delivery attempt to
the log (JSON lines, one :class:`~auditor.alerts.channels.Delivery` each, secrets masked).

Three files in the state folder (beside the alerts file unless ``--state`` says otherwise):

* ``alerts-state.json``: the engine's state (:class:`~auditor.alerts.engine.EngineState`,
  ``{"version": 1, "alerts": [record, ...]}``), replaced atomically; the district dashboard reads
  it to show the alerts that fire (``auditor.district.alerts_web``, which may not import this
  package: it reads the JSON itself).
* ``alerts-deliveries.jsonl``: every delivery attempt.
* ``alerts-acks.jsonl``: acknowledgements made on the dashboard, one JSON object a line
  (``{"rule", "subject", "started", "by", "at", "via"}``), appended by the district server and
  applied here when the state is next loaded (before anything is planned, so no reminder follows
  an acknowledgement). ``started`` names the incident: a line whose alert has since recovered,
  or fired again since, matches nothing and is ignored. The server only appends, this side only
  reads: neither waits for the other.

``run`` and ``ack`` hold an exclusive lock on ``.alerts.lock`` in that folder while they read,
deliver and write, so a timer's check and an acknowledgement from the command line never
overwrite each other's state.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from auditor.alerts.channels import Channel, Delivery, build_channels
from auditor.alerts.config import AlertsConfig, load_alerts
from auditor.alerts.engine import Engine, EngineState, Evaluation, MuteFn, Record
from auditor.errors import InputError

STATE_NAME = "alerts-state.json"
LOG_NAME = "alerts-deliveries.jsonl"
ACKS_NAME = "alerts-acks.jsonl"
LOCK_NAME = ".alerts.lock"


class Alerter:
    """Runs the engine against saved state and delivers what it decides."""

    def __init__(self, cfg: AlertsConfig, channels: Mapping[str, Channel], state_dir: Path, *,
                 mute: MuteFn | None = None) -> None:
        self.cfg = cfg
        self.channels = dict(channels)
        self.state_path = state_dir / STATE_NAME
        self.log_path = state_dir / LOG_NAME
        self.acks_path = state_dir / ACKS_NAME
        self.lock_path = state_dir / LOCK_NAME
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
        engine = Engine.from_config(self.cfg, state, self.mute)
        self._apply_acks(engine)
        return engine

    def _apply_acks(self, engine: Engine) -> None:
        """Acknowledge the firing alerts the dashboard's acknowledgement lines name."""
        try:
            lines = self.acks_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise InputError(f"{self.acks_path}: cannot read the acknowledgements: {exc.strerror}") from None
        for line in lines:
            try:
                doc = json.loads(line)
                key, started = f"{doc['rule']}/{doc['subject']}", dt.datetime.fromisoformat(doc["started"])
                by, at = str(doc["by"]), dt.datetime.fromisoformat(doc["at"])
            except (ValueError, TypeError, KeyError):
                continue  # a torn or foreign line: nothing to apply
            rec = engine.records.get(key)
            if rec is not None and rec.firing and rec.acked_by is None and rec.started == started:
                via = doc.get("via")
                rec.acked_by, rec.acked_at = (f"{by} ({via})" if via else by), at

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state folder's lock (one check or acknowledgement at a time)."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

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
        with self.locked():
            return self._run(now, evaluations)

    def _run(self, now: dt.datetime, evaluations: Iterable[Evaluation]) -> list[Delivery]:
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
        with self.locked():
            engine = self.load()
            rec = engine.ack(rule, subject, now, by)
            self.save(engine)
            return rec
