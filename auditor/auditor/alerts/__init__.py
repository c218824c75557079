"""Alerts between audits: conditions (from wherever they are evaluated) become messages in the
chat tools schools read on their phones (DingTalk, Feishu, WeCom group robots), email and a
generic webhook, with timing (``for``, reminders, recovery), grouping, quiet hours, maintenance
windows and acknowledgement.

* :mod:`auditor.alerts.config`: the alerts file (channels with secret references, rules' timing).
* :mod:`auditor.alerts.channels`: ``deliver(alert) -> Delivery`` for each channel.
* :mod:`auditor.alerts.engine`: what to send when (pure; state is a JSON document).
* :mod:`auditor.alerts.dispatch`: the engine, the channels and the state, delivery and
  acknowledgement files.
* :mod:`auditor.alerts.monitoring` and :mod:`auditor.alerts.rules`: the rules ``auditor alerts
  check`` evaluates against a district's database (school states, throughput against the
  contract, reach loss, audit regressions, expiring certificates, jobs not picked up).
"""
