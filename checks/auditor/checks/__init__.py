"""Built-in checks. Each class registers through the ``campus_auditor.checks`` entry-point group."""
