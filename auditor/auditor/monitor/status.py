"""What the school's own admin sees (``auditor monitor status``), from the local store alone.

Per endpoint: the last reach sample, and loss and median latency over the last hour; per DNS
name the last resolution; per uplink and direction the last throughput test and its share of the
contracted rate; the month's bytes used of the budget; the queue (unsent batches and samples)
and the last successful upload.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.monitor.store import Store
from auditor.wire.monitoring import UplinkContract


def status(store: Store, now: datetime, month: str) -> dict[str, Any]:
    hour_ago = now - timedelta(hours=1)
    reach: dict[str, dict[str, Any]] = {}
    for s in store.samples(since=now - timedelta(days=2), kind="reach"):
        entry = reach.setdefault(s.target, {"target": s.target, "hour": []})
        entry["last"] = s
        if s.at >= hour_ago:
            entry["hour"].append(s)
    endpoints = []
    for target, entry in sorted(reach.items()):
        last, hour = entry["last"], entry["hour"]
        sent = sum(s.sent or 0 for s in hour)
        received = sum(s.received or 0 for s in hour)
        rtts = [s.rtt_ms for s in hour if s.rtt_ms is not None]
        endpoints.append({
            "target": target, "method": last.method, "last_at": last.at.isoformat(),
            "last_reached": bool(last.received), "last_rtt_ms": last.rtt_ms,
            "hour_samples": len(hour),
            "hour_loss_pct": round(100 * (sent - received) / sent, 1) if sent else None,
            "hour_rtt_median_ms": round(statistics.median(rtts), 3) if rtts else None,
            "hour_jitter_ms": round(statistics.fmean(s.jitter_ms for s in hour if s.jitter_ms is not None), 3)
            if any(s.jitter_ms is not None for s in hour) else None,
            "reason": last.reason,
        })
    dns: dict[str, Any] = {}
    for s in store.samples(since=now - timedelta(days=2), kind="dns"):
        dns[s.target] = {"name": s.target, "at": s.at.isoformat(), "ok": s.ok, "resolve_ms": s.resolve_ms,
                         "reason": s.reason}
    contracts = {c.uplink: c for c in
                 (UplinkContract.model_validate(d) for d in json.loads(store.get_meta("contracts") or "[]"))}
    throughput: dict[tuple[str, str], Any] = {}
    for s in store.samples(since=now - timedelta(days=40), kind="throughput"):
        assert s.uplink is not None and s.direction is not None
        contract = contracts.get(s.uplink)
        rate = None if contract is None else (
            contract.down_mbps if s.direction == "down" else contract.up_mbps)
        throughput[(s.uplink, s.direction)] = {
            "uplink": s.uplink, "direction": s.direction, "at": s.at.isoformat(), "mbps": s.mbps,
            "valid": s.valid, "reason": s.reason, "contracted_mbps": rate,
            "provider": None if contract is None else contract.provider,
            "pct_of_contract": round(100 * s.mbps / rate, 1) if rate and s.mbps is not None and s.valid
            else None}
    limit = int(store.get_meta("budget_limit_bytes") or 0)
    used = store.used_bytes(month)
    heartbeats = store.samples(since=now - timedelta(days=2), kind="heartbeat")
    return {
        "at": now.astimezone(UTC).isoformat(),
        "last_heartbeat": heartbeats[-1].at.isoformat() if heartbeats else None,
        "endpoints": endpoints,
        "dns": list(dns.values()),
        "throughput": [throughput[k] for k in sorted(throughput)],
        "budget": {"month": month, "used_bytes": used, "limit_bytes": limit,
                   "used_pct": round(100 * used / limit, 1) if limit else None},
        "queue": store.batch_counts(),
        "last_upload": store.get_meta("last_upload"),
        "last_upload_error": store.get_meta("last_upload_error"),
        "tests": store.slots()[-12:],
        "next_test": store.get_meta("next_test") or None,
    }


def render(doc: dict[str, Any]) -> str:
    """The status as lines of text for a terminal."""
    out = [f"monitoring status at {doc['at']} (last heartbeat {doc['last_heartbeat'] or 'never'})", ""]
    out.append("endpoints (last hour):")
    for e in doc["endpoints"]:
        loss = "-" if e["hour_loss_pct"] is None else f"{e['hour_loss_pct']}%"
        rtt = "-" if e["hour_rtt_median_ms"] is None else f"{e['hour_rtt_median_ms']} ms"
        last = "reached" if e["last_reached"] else "NOT reached"
        out.append(f"  {e['target']:<20} {e['method']:<4} {last:<11} loss {loss:<7} median {rtt}"
                   + (f"  ({e['reason']})" if e["reason"] else ""))
    if not doc["endpoints"]:
        out.append("  none measured yet")
    out.append("dns:")
    for d in doc["dns"]:
        out.append(f"  {d['name']:<30} {'ok' if d['ok'] else 'FAILED':<6} {d['resolve_ms']} ms")
    out.append("throughput (last test):")
    for t in doc["throughput"]:
        pct = "" if t["pct_of_contract"] is None else f" = {t['pct_of_contract']}% of {t['contracted_mbps']}"
        what = f"{t['mbps']} Mbit/s{pct}" if t["valid"] else f"invalid: {t['reason']}"
        out.append(f"  {t['uplink']} {t['direction']:<4} {t['at']}  {what}")
    if not doc["throughput"]:
        out.append("  none yet")
    out.append(f"next test: {doc['next_test'] or 'none planned today'}")
    b, q = doc["budget"], doc["queue"]
    out.append(f"budget {b['month']}: {b['used_bytes'] / 1e6:.1f} MB of {b['limit_bytes'] / 1e6:.0f} MB"
               + (f" ({b['used_pct']}%)" if b["used_pct"] is not None else ""))
    out.append(f"queue: {q['unsent_batches']} unsent batches ({q['unsent_samples']} samples), "
               f"{q['sent_batches']} sent, {q['rejected_batches']} refused")
    out.append(f"last upload: {doc['last_upload'] or 'never'}"
               + (f"; last error: {doc['last_upload_error']}" if doc["last_upload_error"] else ""))
    return "\n".join(out)
