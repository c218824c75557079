"""The school's agent of district mode.

``auditor agent enroll`` binds the school code to the agent's signing key at the district server
(a one-time token; the district's CA pinned); ``auditor agent run`` long-polls the server for jobs,
runs each audit locally with the school's own inventory and credentials, queues the signed bundle
on disk and uploads it with capped exponential back-off. Nothing listens on the school's side: every
connection is outgoing.
"""
