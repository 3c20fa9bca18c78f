"""The annotated video: H.264 in MP4 that a browser plays, with each entry/exit mark on the frames of the
event's own time (the sighting closes up to the aggregator's window later)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from anpr.bus import MemoryBus
from anpr.images import encode_jpeg
from anpr.messages import (
    Box,
    EventMessage,
    EventType,
    FrameMessage,
    Kind,
    VehicleClass,
    VehicleCrop,
    VehiclesMessage,
    topic,
)
from services.pipeline.recorder import VIDEO_NAME, Recorder
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

PREFIX = "test-video/anpr/v1"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
GREEN = np.array([60, 200, 60])  # the entry mark's colour (BGR)


def _frame(seq: int) -> FrameMessage:
    image = np.full((240, 320, 3), 90, np.uint8)
    return FrameMessage(
        camera="gate", seq=seq, captured_at=T0 + timedelta(seconds=seq), width=320, height=240,
        jpeg=encode_jpeg(image, 90),
    )  # fmt: skip


def _event(at_s: int) -> EventMessage:
    t = T0 + timedelta(seconds=at_s)
    return EventMessage(
        type=EventType.ENTRY, plate="ABC1234", confidence=0.9, camera="gate", time=t, first_seen=t,
        last_seen=t, vehicle_class=VehicleClass.CAR, read_count=3,
    )  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of footage at 1 frame/s; the sighting at 5 s closes 30 s later, at frame 35."""
    out = tmp_path_factory.mktemp("video")
    bus = MemoryBus()
    recorder = Recorder(out, "UTC", (), fps=1.0, banner_s=3.0, hold_s=35.0)
    recorder.attach(bus, PREFIX)
    for seq in range(40):
        if seq == 35:
            bus.publish(topic(PREFIX, Kind.EVENTS), _event(5))
        recorder.frame_done(_frame(seq))
    recorder.close()
    return out / VIDEO_NAME


def _frames(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="bgr24")


def _marked(image: np.ndarray) -> bool:
    banner = image[10:50, 10:300].reshape(-1, 3).astype(int)
    return bool((np.abs(banner - GREEN).sum(axis=1) < 60).sum() > 50)


def test_video_is_h264_mp4(recorded: Path) -> None:
    with av.open(str(recorded)) as container:
        stream = container.streams.video[0]
        assert container.format.name.startswith("mov,mp4")
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.frames == 40


def test_mark_shows_at_the_events_time_not_when_it_was_decided(recorded: Path) -> None:
    marked = [i for i, image in enumerate(_frames(recorded)) if _marked(image)]
    assert marked == [5, 6, 7, 8]  # from the best read, for banner_s seconds


def test_headless_chromium_plays_the_video(recorded: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "play.html"
    page_file.write_text(f'<video id="v" src="{recorded.as_uri()}" muted playsinline></video>')
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            played: dict[str, Any] = page.evaluate(
                """() => new Promise((resolve) => {
                    const v = document.getElementById('v');
                    v.onerror = () => resolve({error: v.error && v.error.message});
                    v.requestVideoFrameCallback((_now, meta) =>
                        resolve({mediaTime: meta.mediaTime, width: meta.width, duration: v.duration}));
                    v.currentTime = 6;
                    v.play().catch((e) => resolve({error: String(e)}));
                })"""
            )
        finally:
            browser.close()
    assert "error" not in played, played
    assert played["width"] == 320
    assert 5.5 <= played["mediaTime"] <= 40
    assert played["duration"] == pytest.approx(40, abs=1)


def test_the_frames_held_for_the_marks_keep_no_vehicle_crops(tmp_path: Path) -> None:
    """Frames are held hold_s behind the footage with what was found in them: the boxes, not the
    vehicles' crop JPEGs (two cars at 18 frames/s for 35 s: ~60 MB)."""
    bus = MemoryBus()
    recorder = Recorder(tmp_path, "UTC", (), fps=1.0, hold_s=35.0, write_video=True)
    recorder.attach(bus, PREFIX)
    jpeg = encode_jpeg(np.full((720, 1280, 3), 90, np.uint8), 90)  # one frame's bytes, held 30 times
    noise = np.random.default_rng(7)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for seq in range(30):
            at = T0 + timedelta(seconds=seq)
            crop = VehicleCrop(
                vehicle_class=VehicleClass.CAR, confidence=0.9, track_id=1, box=Box(x=0, y=0, w=640, h=480),
                crop_box=Box(x=0, y=0, w=640, h=480),
                jpeg=encode_jpeg(noise.integers(0, 255, (480, 640, 3), np.uint8), 90),
            )  # fmt: skip
            bus.publish(
                topic(PREFIX, Kind.VEHICLES, "gate"),
                VehiclesMessage(
                    camera="gate", seq=seq, captured_at=at, width=1280, height=720, vehicles=(crop,)
                ),
            )
            recorder.frame_done(
                FrameMessage(camera="gate", seq=seq, captured_at=at, width=1280, height=720, jpeg=jpeg)
            )
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert recorder.frames_written == 0  # all 30 still held
    assert held < 3_000_000, held  # the 30 noisy crops alone are ~15 MB of JPEG
    recorder.close()
    assert recorder.frames_written == 30
