"""detector: finds vehicles in camera frames and keeps each one's track id.

Consumes `<prefix>/frames/<camera>` (FrameMessage), publishes `<prefix>/vehicles/<camera>` (VehiclesMessage):
one message per frame, possibly with no vehicles, holding a padded JPEG crop of every car, truck, bus and
motorcycle with its box in frame coordinates and its tracker id.
"""
