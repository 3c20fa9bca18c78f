"""aggregator: plate reads → entry/exit events (the 30-second rule).

Consumes `<prefix>/reads/<camera>` (ReadsMessage, one per processed frame) and publishes
`<prefix>/events` (EventMessage, QoS 1): one event per sighting, from its most confident read.
Who is inside, the open sightings and the events not yet confirmed by the broker live in a
local state file, so a restart neither forgets a car nor loses or duplicates an event.
"""
