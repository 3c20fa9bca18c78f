"""The all-in-one run: capture → detector → OCR → aggregator in one process on an in-process bus.

Consumes a video file or a camera; writes `output/detected_vehicles_and_plates.mp4` (annotated),
`output/detected_vehicles_and_plates.csv` (one row per plate read) and `output/events.csv`, and can
show an OpenCV window and forward events to an MQTT broker. No broker or database is needed.
"""
