"""What the auditor knows about each network-device vendor, in one place per family.

Probes and checks both look vendor knowledge up here; a check never imports a probe's
implementation (the layer contract in ``pyproject.toml``).
"""
