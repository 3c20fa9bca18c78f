"""Shared set-up for whole-pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.gate_data import model_env


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch, data_dir: Path, tmp_path: Path) -> dict[str, str]:
    """The real models, development settings, and aggregator state in this test's own folder."""
    env = model_env(data_dir) | {"AGGREGATOR_STATE_FILE": str(tmp_path / "aggregator.json")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env
