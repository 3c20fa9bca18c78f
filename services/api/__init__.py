"""Records service (runs on the Pi).

Consumes: `events` (EventMessage) from MQTT with a persistent QoS 1 session, and the same JSON over
HTTP from the edge (device token). Publishes: only its own retained `status/api`.
Stores events in MariaDB (or SQLite) with plates, candidates and snapshots encrypted, and serves them
to clients that log in with an API token and a TOTP code. See README.md.
"""
