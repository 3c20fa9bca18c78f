"""A new user's first run: a clone with no ../shared beside it, models only in the libraries' caches.

What ../shared/data can stand in for: fast-plate-ocr's `cct-xs-v1-global-model` (its release .onnx and
plate config are there, byte for byte; MANIFEST §5, §9), so the reader is placed in fast-plate-ocr's
cache exactly where its `download_model` puts it and is loaded from there with no internet. Ultralytics'
`yolo11n.pt` and open-image-models' plate detector are not in ../shared (MANIFEST §1, §5): these tests
cannot show them loading from a cache; they show that with neither cached nor fetchable the run names
them in its one message, and the run that succeeds points DETECTOR_MODEL and OCR_LOCALISER_MODEL at
local files, as that message tells a user to do.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.pipeline.fresh_tree import FreshTree, fresh_tree, short_clip

READER = "cct-xs-v1-global-model"
OUTPUTS = {
    "detected_vehicles_and_plates.mp4",
    "detected_vehicles_and_plates.csv",
    "events.csv",
    "aggregator_state.json",
    "aggregator_state.outbox.sqlite",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> FreshTree:
    return fresh_tree(tmp_path_factory.mktemp("first-run"))


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last 3 s of the toll-gate video: a truck reaches the barrier (plate 89C203)."""
    return short_clip(
        data_dir / "videos" / "parkpow_cars.mp4", tmp_path_factory.mktemp("footage") / "gate.mp4", 280, 59
    )


def cached_reader(home: Path, data_dir: Path) -> Path:
    """fast-plate-ocr's cache after a first run with internet: ~/.cache/fast-plate-ocr/<name>/<release files>."""
    folder = home / ".cache" / "fast-plate-ocr" / READER
    folder.mkdir(parents=True)
    peers = data_dir / "models" / "peers" / "fast_plate_ocr"
    for name in ("cct_xs_v1_global.onnx", "cct_xs_v1_global_plate_config.yaml"):
        shutil.copyfile(peers / name, folder / name)
    return folder


def test_readme_lists_exactly_the_files_a_run_writes() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(readme) if line.startswith("| file in `output/latest/`"))
    names = []
    for line in readme[start + 2 :]:  # after the header and its rule, until the table ends
        if not line.startswith("|"):
            break
        names.append(line.split("`")[1])
    assert sorted(names) == sorted(OUTPUTS)


def test_no_internet_and_no_models_is_one_message_listing_every_model(
    tree: FreshTree, clip: Path, tmp_path: Path
) -> None:
    proc = tree.run(str(clip), home=tmp_path / "home")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("model(s) missing") == 1
    missing = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert [m.split("=")[0] for m in missing] == [
        "  - DETECTOR_MODEL",
        "  - OCR_READER_MODEL",
        "  - OCR_LOCALISER_MODEL",
    ]
    assert all("set " in m for m in missing)  # each says which setting points at a local file
    assert not (tree.root / "output").exists()  # nothing started, nothing written


def test_a_cached_reader_is_used_offline_and_only_the_others_are_listed(
    tree: FreshTree, clip: Path, tmp_path: Path, data_dir: Path
) -> None:
    home = tmp_path / "home"
    cached_reader(home, data_dir)
    proc = tree.run(str(clip), home=home)
    assert proc.returncode == 2
    assert "2 model(s) missing" in proc.stderr
    assert "OCR_READER_MODEL" not in proc.stderr


def test_run_sh_succeeds_with_the_reader_from_the_cache(
    tree: FreshTree, clip: Path, tmp_path: Path, data_dir: Path
) -> None:
    home = tmp_path / "home"
    cache = cached_reader(home, data_dir)
    models = data_dir / "models"
    proc = tree.run(
        str(clip),
        home=home,
        DETECTOR_MODEL=str(models / "fallback" / "yolo11n_int8.tflite"),
        OCR_LOCALISER_MODEL=str(models / "plates" / "openalpr_us" / "us.xml"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    latest = tree.root / "output" / "latest"
    assert {p.name for p in latest.iterdir()} == OUTPUTS
    with open(latest / "detected_vehicles_and_plates.csv") as fh:
        reads = list(csv.DictReader(fh))
    # The cached reader read the truck's plate: whole or, as the US cascade alone boxes one row of a
    # two-row plate, a part of it (89C2033 on one machine, 20339 on another: the CPUs' rounding differs).
    assert any(len(p) >= 5 and p in "89C20339" for p in (r["plate_normalized"] for r in reads)), reads
    assert sorted(p.name for p in cache.iterdir()) == [  # read from the cache, nothing fetched beside it
        "cct_xs_v1_global.onnx",
        "cct_xs_v1_global_plate_config.yaml",
    ]
