from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def parkpow(data_dir: Path) -> Path:
    return data_dir / "videos" / "parkpow_cars.mp4"


@pytest.fixture(scope="session")
def gate_video(data_dir: Path) -> Path:
    return data_dir / "videos" / "us_gate_sequence.mp4"
