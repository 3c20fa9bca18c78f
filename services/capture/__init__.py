"""capture: reads a video file, an RTSP/HTTP stream, a USB camera or the Jetson CSI camera.

Consumes `<prefix>/reads/<camera>` (only as acknowledgements, for back-pressure).
Publishes `<prefix>/frames/<camera>`: one `FrameMessage` (JPEG plus time, sequence and size) per
kept frame; QoS 1 for files (nothing may be lost), QoS 0 for live sources (a late frame is worthless).
"""
