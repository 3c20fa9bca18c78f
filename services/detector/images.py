"""Box arithmetic for crops."""

from __future__ import annotations

from anpr.messages import Box


def clip_box(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> Box | None:
    """Integer box inside a `width` x `height` image; None when nothing of it is inside."""
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(width, int(round(x2))), min(height, int(round(y2)))
    if right <= left or bottom <= top:
        return None
    return Box(x=left, y=top, w=right - left, h=bottom - top)


def padded(box: Box, fraction: float, width: int, height: int) -> Box:
    """`box` grown by `fraction` of its size on every side, clipped to the image."""
    dx, dy = box.w * fraction, box.h * fraction
    x1, y1, x2, y2 = box.xyxy
    grown = clip_box(x1 - dx, y1 - dy, x2 + dx, y2 + dy, width, height)
    return grown if grown is not None else box
