"""Frame-sized memory goes back to the system when it is freed.

glibc gives a large allocation a mapping of its own, unmapped when freed, until freeing one raises its
threshold (up to 32 MiB on 64-bit): from then on decoded frames, crops and tensors are carved from the
heap arenas of the threads that made them, and what those arenas grew to stays resident. A threshold
fixed at 1 MiB keeps them out: parkpow's all-in-one run peaked at 1306-1320 MB instead of 1367-1388 MB
for about the same CPU (pipeline README).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter; setting it also stops the threshold from moving
THRESHOLD_BYTES = 1 << 20


def keep_frames_off_the_heap() -> bool:
    """Fix glibc's mmap threshold for this process; False where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # musl, macOS: their allocators have no such threshold
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
