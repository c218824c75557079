"""The demo school: a school network built from Linux network namespaces (root only).

Not part of the product: it is its own distribution (``campus-auditor-lab``), installed by
``scripts/demo.sh`` and the test set-up, never by ``pip install campus-auditor``. It adds the
``auditor lab`` command group through the ``campus_auditor.cli`` entry point.
"""
