"""A copy of the working tree with no ../shared beside it: a new user's machine, with an empty home (the
model libraries' caches) and no model settings in the environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]
MODEL_VARS = ("DETECTOR_", "OCR_", "YOLO_", "ANPR_SHARED_DATA", "AGGREGATOR_", "PIPELINE_", "CAPTURE_")


@dataclass
class FreshTree:
    root: Path

    def run(
        self, *args: str, home: Path, cwd: Path | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`run.sh ARGS` as the user at `cwd` whose home (the libraries' model caches) is `home`."""
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(MODEL_VARS) and k != "DISPLAY"}
        env |= {
            "HOME": str(home),  # fast-plate-ocr and open-image-models cache under ~/.cache
            "YOLO_CONFIG_DIR": str(home / ".config"),  # Ultralytics' settings (and its weights folder)
            "ANPR_ENV_FILE": "/nonexistent/.env",
        }
        return subprocess.run(
            [str(self.root / "run.sh"), *args, "--no-progress"],
            cwd=cwd or self.root,
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=600,
        )


def fresh_tree(base: Path) -> FreshTree:
    """The files git would hand a clone (tracked and not ignored), the project's .venv linked in."""
    root = base / "clone" / "anpr"
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        src = REPO / name.decode()
        if src.is_file() and not src.is_symlink():
            (root / src.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / src.relative_to(REPO))
    (root / ".venv").symlink_to((REPO / ".venv").resolve())
    assert not (root.parent / "shared").exists()
    return FreshTree(root)


def short_clip(video: Path, out: Path, first: int, count: int) -> Path:
    """`count` frames of `video` from frame `first`, as a small mp4 of its own."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    writer = None
    for _ in range(count):
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
    cap.release()
    assert writer is not None, f"no frames read from {video}"
    writer.release()
    return out
