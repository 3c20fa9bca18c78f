"""The fine-tuning tools (training/us_plates): the reader trained in torch is written back into the same ONNX
graph, and US crops are pasted into real car photos."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from services.ocr.plate_model import PlateOcrModel
from training.us_plates.finetune import TrainableReader
from training.us_plates.scenes import Scene, composite, load_scenes


@pytest.fixture(scope="module")
def model_path(data_dir: Path) -> Path:
    return data_dir / "models" / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"


@pytest.fixture(scope="module")
def crops(data_dir: Path) -> list[np.ndarray]:
    folder = data_dir / "openalpr_seg_and_ocr" / "us"
    return [cv2.imread(str(folder / n)) for n in ("md1107.png", "nc1655.png", "tx128.png")]


def test_written_back_unchanged_the_reader_reads_as_shipped(
    model_path: Path, crops: list[np.ndarray], tmp_path: Path
) -> None:
    reader = TrainableReader(model_path)
    reader.export(tmp_path / "same.onnx")
    shipped = PlateOcrModel(str(model_path)).probabilities(crops)
    again = PlateOcrModel(str(tmp_path / "same.onnx")).probabilities(
        crops
    )  # finds the config written beside it
    np.testing.assert_allclose(again, shipped, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(reader.probs(crops).numpy(), shipped, atol=1e-4)


def test_a_training_step_reaches_the_exported_graph(
    model_path: Path, crops: list[np.ndarray], tmp_path: Path
) -> None:
    reader = TrainableReader(model_path)
    opt = torch.optim.SGD(reader.params(), lr=0.05)
    target = torch.zeros(len(crops) * reader.reference.config.slots, dtype=torch.long)  # every slot "0"
    loss = torch.nn.functional.nll_loss(torch.log(reader.probs(crops).reshape(len(target), -1)), target)
    loss.backward()
    opt.step()
    reader.export(tmp_path / "stepped.onnx")
    exported = PlateOcrModel(str(tmp_path / "stepped.onnx")).probabilities(crops)
    shipped = PlateOcrModel(str(model_path)).probabilities(crops)
    with torch.no_grad():
        trained = reader.probs(crops).numpy()
    np.testing.assert_allclose(exported, trained, atol=1e-4)
    assert np.abs(exported - shipped).max() > 1e-3
    assert exported[..., 0].mean() > shipped[..., 0].mean()  # the step pushed towards "0"


def test_a_us_crop_pasted_into_a_real_car_photo(data_dir: Path, crops: list[np.ndarray]) -> None:
    scenes = load_scenes(data_dir / "openalpr_benchmarks" / "eu")
    assert len(scenes) == 108
    scene = scenes[0]
    cut = composite(crops[2], scene, random.Random(0))
    assert cut is not None
    plate_h = crops[2].shape[0] * cut.shape[1] / crops[2].shape[1]
    assert cut.shape[1] >= scene.w and 0.8 * plate_h < cut.shape[0] < 1.6 * plate_h
    assert not np.array_equal(cut, scene.image[: cut.shape[0], : cut.shape[1]])


def test_a_plate_that_does_not_fit_the_scene_is_refused(crops: list[np.ndarray]) -> None:
    # The pasted plate is at least 5% wider than the scene's plate, which here fills the whole scene.
    tiny = Scene(np.zeros((20, 40, 3), np.uint8), x=0, y=0, w=40, h=20)
    assert composite(crops[0], tiny, random.Random(0)) is None
