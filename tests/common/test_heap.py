"""Frame-sized blocks get mappings of their own, given back when freed, even after a larger block was
freed (which would otherwise raise glibc's threshold and send the next frames into the heap)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# mallinfo2().hblkhd: bytes in mappings of their own. A 3 MB block (a 720p frame) after a 4 MB one was freed.
PROBE = """
import ctypes, sys
from anpr.heap import keep_frames_off_the_heap
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "fixed":
    assert keep_frames_off_the_heap()
del_me = ctypes.create_string_buffer(4_000_000); del del_me
before = libc.mallinfo2().hblkhd
frame = ctypes.create_string_buffer(3_000_000)
print(libc.mallinfo2().hblkhd - before >= 3_000_000)
"""


def _mapped(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's own defaults
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_frame_after_a_larger_free_gets_a_mapping_of_its_own() -> None:
    assert _mapped("default") == "False"  # glibc's moving threshold: the frame went into the heap
    assert _mapped("fixed") == "True"
