"""An image run stops when it is terminated: Dagster's "Terminate" interrupts the run's main
thread; the queued downloads are dropped, only those already running finish, and what finished
is recorded."""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine

from listings_pipeline.images import ImageSettings, process_images
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.local_http import LocalServer, Reply
from listings_pipeline_tests.review_helpers import run_job

IMAGES = 12
DELAY = 1.0  # seconds each image takes to serve: 12 images at 2 at a time is at least 6 s


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_an_interrupted_image_run_stops_and_records_what_finished(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # the image server's address
    monkeypatch.setenv("LISTINGS_IMAGES_DIR", str(tmp_path / "images"))
    monkeypatch.setenv("LISTINGS_IMAGES_CONCURRENCY", "2")
    body = jpeg()

    def slow(_: object) -> Reply:
        time.sleep(DELAY)
        return Reply(200, body, {"Content-Type": "image/jpeg"})

    with LocalServer() as server:
        for i in range(IMAGES):
            server.routes[f"/{i}.jpg"] = slow
        rows = [place(i + 1, Image1=f"{server.url}/{i}.jpg") for i in range(IMAGES)]
        job_id = run_job(engine, csv_config("pics-csv"), tmp_path / "in", rows)

        def terminate(*_: object) -> None:
            raise KeyboardInterrupt  # what Dagster's termination does to the run's thread

        previous = signal.signal(signal.SIGALRM, terminate)
        signal.setitimer(signal.ITIMER_REAL, DELAY * 1.5)
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                process_images(engine, job_id=job_id, settings=ImageSettings.from_env())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        stopped_after = time.monotonic() - started
        time.sleep(DELAY * 2)  # nothing queued may start after the stop
        served = len(server.seen)
    assert stopped_after < DELAY * 4, stopped_after  # not the ~6 s the whole run takes
    assert served <= 6, served  # the 2 running and at most a window's worth, not all 12
    assert 0 < count(engine, "pipeline.image_assets") < IMAGES  # what finished is recorded
