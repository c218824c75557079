"""Monitoring between audits (``auditor monitor``): light measurements all school day.

Every ``monitoring.interval_min`` the agent measures the reach (ICMP echo where permitted, else
TCP connect timing) of the uplink endpoints, the district and the inventory's further endpoints,
the resolution time of the configured DNS names, and sends a heartbeat; a few times each school
day, at random times inside windows that avoid lessons, a short iperf3 test of each uplink in
both directions, bounded in seconds and bytes and counted against the month's byte budget.
Samples are kept in a SQLite file beside the agent's state (raw samples and hourly roll-ups,
pruned by the inventory's retention) and forwarded to the district in signed, idempotent
batches through a store-and-forward queue (:mod:`auditor.monitor.store`).

Modules: ``measure`` (the measurements), ``plan`` (school days, windows, random test times),
``store`` (SQLite), ``loop`` (the scheduler), ``status`` (what the school's admin sees).
"""
