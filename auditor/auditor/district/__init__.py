"""District mode: a district server that collects signed bundles from its schools' agents.

``app`` (FastAPI on uvicorn: the HTTP API and the dashboard), ``service`` (members, keys,
enrolment, signed-request checks, jobs), ``bundles`` (upload, safe unpacking, verification,
ingest into the history store), ``views`` and ``dashboard`` (the HTML pages and CSV), ``federation``
(forwarding verified runs to a city server), ``protocol`` (the signed-request scheme, shared with
the agent in ``auditor.agent``), ``models`` and ``migrations`` (the ``district_*`` tables, with
their own Alembic version table, beside the history store's tables in one database).
"""
