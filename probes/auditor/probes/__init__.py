"""Built-in probes. Each module registers one probe through the ``campus_auditor.probes`` entry-point group."""
