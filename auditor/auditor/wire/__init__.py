"""What a school's agent and the district server share: the signed request scheme, the HTTPS
client (used by agents, and by a district forwarding to its city server) and their errors.

``agent`` and ``district`` both build on this package and never import each other.
"""
