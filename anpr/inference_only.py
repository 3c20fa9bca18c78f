"""Torch in the edge processes, for inference only.

Ultralytics imports torchvision, which imports torch._dynamo, which imports Triton, a GPU kernel
compiler, only to learn whether it is installed: 66 MB of library and its modules, about 70 MB of
resident memory on a 2-core x86 box (pipeline README). The edge runs models and never compiles a
kernel, so each place that imports Ultralytics first marks Triton absent; torch then reports it
unavailable, as on a machine without it.
"""

from __future__ import annotations

import sys


def without_triton() -> None:
    """Make `import triton` fail in this process, unless it has been imported already."""
    if "triton" not in sys.modules:
        sys.modules["triton"] = None  # type: ignore[assignment]  # the import system's "absent" mark
