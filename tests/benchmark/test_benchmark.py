"""The accuracy benchmark: its scoring (pure), its loaders, and whole runs on a tiny labelled fixture
made of real photos and crops from the shared data (labels written here, one of them deliberately wrong)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from anpr.messages import Box
from services.ocr import benchmark
from services.ocr.benchmark import Outcome, Sample, Score, char_accuracy, load_crops, load_photos


def test_iou_and_char_accuracy() -> None:
    a = Box(x=0, y=0, w=10, h=10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(x=5, y=0, w=10, h=10)) == pytest.approx(50 / 150)
    assert a.iou(Box(x=20, y=20, w=5, h=5)) == 0.0
    assert char_accuracy("ABC1234", "ABC1234") == 1.0
    assert char_accuracy("ABC1234", "ABC1284") == pytest.approx(6 / 7)
    assert char_accuracy("ABC1234", "BC1234") == pytest.approx(6 / 7)  # one character missing
    assert char_accuracy("ABC1234", "") == 0.0
    assert char_accuracy("AB1", "XXXXXXXX") == 0.0  # never below zero


def test_score_counts_found_exact_top_n_chars_and_misses() -> None:
    box = Box(x=100, y=100, w=80, h=40)
    right = Outcome("ABC1234", 0.9, ("ABC1234", "ABC1284"), (Box(x=104, y=98, w=80, h=42),), 0.2)
    second = Outcome("DL9EIU", 0.6, ("DL9EIU", "DL9E1U"), (Box(x=300, y=300, w=80, h=40),), 0.4)
    nothing = Outcome("", 0.0, (), (), 0.3)
    score = Score()
    score.add(Sample(Path("a.jpg"), "ABC1234", box), right)
    score.add(Sample(Path("b.jpg"), "DL9E1U", box), second)
    score.add(Sample(Path("c.jpg"), "XYZ987", box), nothing)
    assert (score.total, score.found, score.exact, score.top_n) == (3, 1, 1, 2)
    assert score.char_sum / score.total == pytest.approx((1 + 5 / 6 + 0) / 3)
    assert score.seconds == pytest.approx(0.9)
    assert [s.image.name for s, _ in score.misses] == ["b.jpg", "c.jpg"]
    assert score.lines(crops=False)[-1] == "exact 1/3"
    assert score.lines(crops=False)[0].startswith("found    1/3")


def _photo_fixture(data_dir: Path, tmp_path: Path, count: int) -> list[Sample]:
    """The first `count` US photos (as symlinks) with their upstream labels, and one wrong label."""
    source = load_photos(data_dir / "openalpr_benchmarks" / "us")[:count]
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, s in enumerate(source):
        (folder / s.image.name).symlink_to(s.image)
        plate = "ZZZ9999" if i == 0 else s.plate  # a label no read can match: a certain miss
        b = s.box
        (folder / f"{s.image.stem}.txt").write_text(f"{s.image.name}\t{b.x}\t{b.y}\t{b.w}\t{b.h}\t{plate}\n")
    return source


def test_loaders_read_the_layouts_and_refuse_bad_folders(data_dir: Path, tmp_path: Path) -> None:
    photos = load_photos(data_dir / "openalpr_benchmarks" / "br")  # labels name .png, files are .jpg
    assert len(photos) == 35 and all(p.image.is_file() and p.box for p in photos)
    crops = load_crops(data_dir / "openalpr_seg_and_ocr" / "us")
    assert len(crops) == 448 and crops[0].box is None
    with pytest.raises(ValueError, match="no .txt labels"):
        load_photos(tmp_path)
    with pytest.raises(ValueError, match="groundtruth.csv"):
        load_crops(tmp_path)
    (tmp_path / "x.txt").write_text("x.jpg\t1\t2\tABC\n")
    with pytest.raises(ValueError, match="6 tab-separated"):
        load_photos(tmp_path)


def test_photos_through_the_product_path(
    data_dir: Path, tmp_path: Path, product_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _photo_fixture(data_dir, tmp_path, 4)
    misses = tmp_path / "misses.csv"
    assert benchmark.main([str(tmp_path / "photos"), "--misses", str(misses), "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # Measured: the product reads photos 2-4 of the set right and finds all four plates.
    assert lines[-1] == "exact 3/4"
    assert "found    4/4 (100.0%) plate box IoU >= 0.3" in lines
    rows = list(csv.DictReader(misses.open()))
    assert [r["image"] for r in rows] == [source[0].image.name]
    assert rows[0]["truth"] == "ZZZ9999" and rows[0]["read"]
    assert source[0].plate in rows[0]["candidates"].split()  # the real plate is among the candidates
    assert rows[0]["found"] == "1"


def test_a_plate_found_but_read_under_the_floor_counts_as_found_not_read(
    data_dir: Path, tmp_path: Path, product_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # us7.jpg: the localiser finds the plate (5VCF203), but the best read of it stays under OCR_MIN_CONFIDENCE.
    label = (data_dir / "openalpr_benchmarks" / "us" / "us7.txt").read_text()
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "us7.jpg").symlink_to(data_dir / "openalpr_benchmarks" / "us" / "us7.jpg")
    (folder / "us7.txt").write_text(label)
    misses = tmp_path / "misses.csv"
    assert benchmark.main([str(folder), "--misses", str(misses), "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "exact 0/1"
    assert "found    1/1 (100.0%) plate box IoU >= 0.3" in lines
    assert "top-N    0/1 (0.0%) plate among reads and candidates" in lines
    row = next(csv.DictReader(misses.open()))
    assert (row["read"], row["found"], row["candidates"]) == ("", "1", "")


def test_crops_measure_ocr_alone(
    data_dir: Path, tmp_path: Path, product_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [r.strip().split(",") for r in (data_dir / "openalpr_seg_and_ocr/us/groundtruth.csv").open()]
    texas = [r for r in rows if r[1] == "tx"][:3]
    folder = tmp_path / "crops"
    folder.mkdir()
    for name, _state, _plate in texas:
        (folder / name).symlink_to(data_dir / "openalpr_seg_and_ocr" / "us" / name)
    texas[1] = [texas[1][0], "tx", "WRONG12"]
    (folder / "groundtruth.csv").write_text("".join(",".join(r) + "\n" for r in texas))
    misses = tmp_path / "m.csv"
    assert benchmark.main([str(folder), "--crops", "--misses", str(misses), "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "exact 2/3"  # every Texas crop is read right; the wrong label is the miss
    assert not any(line.startswith("found") for line in out)  # no boxes in crops mode
    assert [r["truth"] for r in csv.DictReader(misses.open())] == ["WRONG12"]


def test_a_missing_model_is_a_clear_error(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCR_READER_MODEL", str(tmp_path / "none.onnx"))
    monkeypatch.setenv("OCR_LOCALISER_MODEL", str(data_dir / "models/plates/openalpr_us/us.xml"))
    assert benchmark.main([str(data_dir / "openalpr_seg_and_ocr" / "us"), "--crops"]) == 2
    assert "OCR_READER_MODEL" in capsys.readouterr().err
