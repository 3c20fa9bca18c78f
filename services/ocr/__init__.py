"""ocr: reads the plate of every vehicle crop.

Consumes `<prefix>/vehicles/<camera>` (VehiclesMessage), publishes `<prefix>/reads/<camera>` (ReadsMessage):
one message per frame, possibly with no reads, holding each plate read with its top-N candidates,
plate and vehicle boxes in frame coordinates, the vehicle's class and track id, and a small snapshot.
A track that already has a confident read is not read again.
"""
