"""Scheduled audits: the schedule files, systemd units, the per-school lock, the scheduled run
itself (with regressions, history, retention), Prometheus metrics, notifications and JSON logs."""
