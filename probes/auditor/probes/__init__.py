"""Built-in probes, registered through the ``campus_auditor.probes`` entry-point group."""
