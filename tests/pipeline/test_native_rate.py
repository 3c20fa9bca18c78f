"""At the footage's own frame rate a far car's reads must not end at its first confident one.

In the lot-day footage at 10 frames/s, 5JMZ542 is read 5JM2542 three times while far away, then
5JMZ542 at 0.93 as it comes closer. When a confident read ended a track's reads, those four decided
the pass (5JM2542); read again as its box grows, the closer reads outvote the far ones.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from services.ocr.settings import OcrSettings
from services.pipeline.run import Stages, run
from services.pipeline.settings import PipelineSettings
from tests.pipeline.gate_data import GATE_START

pytestmark = pytest.mark.slow  # a few seconds of footage through the real models

FIRST_FRAME, FRAMES = 530, 60  # 53-59 s of us_lot_day.mp4: 5JMZ542 drives in


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pass cut losslessly (FFV1), so every frame is the footage's own (never stored in the repository)."""
    src = cv2.VideoCapture(str(data_dir / "videos" / "us_lot_day.mp4"))
    for _ in range(FIRST_FRAME):
        assert src.grab()
    path = tmp_path_factory.mktemp("clip") / "lot_day_5jmz542.mkv"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), src.get(cv2.CAP_PROP_FPS), (1280, 720))
    assert out.isOpened()
    for _ in range(FRAMES):
        ok, frame = src.read()
        assert ok
        out.write(frame)
    out.release()
    src.release()
    return path


def _plates(clip: Path, out: Path, **ocr: object) -> list[tuple[str, str]]:
    result = run(
        [str(clip)],
        PipelineSettings(output_dir=out, write_video=False),
        Stages(ocr=OcrSettings(**ocr)),
        start_time=GATE_START,
    )
    return [(e.type.value, e.plate) for e in result.events]


def test_a_far_cars_confident_misread_is_outvoted_as_it_comes_closer(
    models: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    assert _plates(clip, tmp_path / "defaults") == [("entry", "5JMZ542")]
    # The policy before: a track's first confident read ended its reads, and the far reads won.
    assert _plates(clip, tmp_path / "one", track_confident_reads=1) == [("entry", "5JM2542")]
