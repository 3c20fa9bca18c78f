"""One folder per run (`output/<timestamp>/`) and `output/latest` pointing at the last one that finished,
so a failed or interrupted start never overwrites the previous results."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

LATEST = "latest"


def new_run_folder(output: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    output.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = output / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{output}: too many runs started at {stamp}")


def mark_latest(run: Path) -> Path:
    """Point `<output>/latest` at `run`, atomically (a relative link, so the folder can be moved)."""
    link = run.parent / LATEST
    tmp = run.parent / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run.name, target_is_directory=True)
    os.replace(tmp, link)
    return link
