"""Image processing against a real HTTP server on 127.0.0.1 serving images made by Pillow,
a real PostgreSQL, and real files (or a local S3-compatible server)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageDraw
from sqlalchemy import Engine, text

from listings_pipeline.images import ImageSettings, ImageStoreError, process_images

# --- a local image server -------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "image/jpeg"
    headers: tuple[tuple[str, str], ...] = ()
    no_length: bool = False  # no Content-Length: the body ends when the connection closes


class ImageServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[int], Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server._lock:
                    server.hits[self.path] += 1
                    server.times[self.path].append(time.monotonic())
                    hit = server.hits[self.path]
                route = server.routes.get(self.path, Reply(404, b"not found", "text/plain"))
                reply = route(hit) if callable(route) else route
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: bytes, content_type: str = "image/jpeg", **kw: Any) -> str:
        self.routes[path] = Reply(200, body, content_type, **kw)
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = Reply(302, b"", "text/plain", (("Location", location),))
        return self.url(path)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def server() -> Iterator[ImageServer]:
    srv = ImageServer()
    yield srv
    srv.close()


# --- images made by Pillow ------------------------------------------------------------------


def picture(size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, (40 + seed * 37 % 200, 90, 160, 255)[: len(mode)])
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse(
        (w // 8, h // 8, w * 7 // 8, h * 7 // 8), fill=(230, 200 - seed % 100, 30, 200)[: len(mode)]
    )
    draw.rectangle((0, 0, w // 4, h // 4), fill=(seed % 255, 255, 255, 0)[: len(mode)])
    return image


def encode(image: Image.Image, fmt: str, **kw: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A ~100-byte PNG whose header declares width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


# --- public and stage rows in plain SQL -----------------------------------------------------


def add_listing(engine: Engine, dmo_id: int, name: str, urls: list[str]) -> int:
    """A listing with its listing_info and images; returns the listing_info id."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO public.dmos (id, name) VALUES (:d, 'DMO') ON CONFLICT DO NOTHING"),
            {"d": dmo_id},
        )
        listing_id = conn.execute(
            text("INSERT INTO public.listings (name) VALUES (:n) RETURNING id"), {"n": name}
        ).scalar_one()
        info_id = conn.execute(
            text(
                "INSERT INTO public.listing_info (listing_id, dmo_id) VALUES (:l, :d) RETURNING id"
            ),
            {"l": listing_id, "d": dmo_id},
        ).scalar_one()
        for order, url in enumerate(urls):
            conn.execute(
                text(
                    "INSERT INTO public.listing_images (listing_info_id, image, sort_order)"
                    " VALUES (:i, :u, :o)"
                ),
                {"i": info_id, "u": url, "o": order},
            )
    return info_id


def add_job(engine: Engine, dmo_id: int, stage_rows: list[dict[str, Any]]) -> int:
    """A promoted job whose stage rows carry images_action / promote_status."""
    with engine.begin() as conn:
        job_id = conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, current_stage, status)"
                " VALUES (:d, 'promote', 'completed') RETURNING id"
            ),
            {"d": dmo_id},
        ).scalar_one()
        for rec_num, row in enumerate(stage_rows):
            conn.execute(
                text(
                    "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id,"
                    " listing_info_internal_id, images_action, promote_status)"
                    " VALUES (:j, :r, :d, :s, :i, :a, :p)"
                ),
                {
                    "j": job_id,
                    "r": rec_num,
                    "d": dmo_id,
                    "s": row.get("source_id", f"src-{rec_num}"),
                    "i": row.get("listing_info_id"),
                    "a": row.get("images_action", "insert"),
                    "p": row.get("promote_status", "succeeded"),
                },
            )
    return job_id


def assets(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM pipeline.image_assets")).mappings().all()
    return {r["source_url"]: dict(r) for r in rows}


def image_settings(tmp_path: Path, **overrides: Any) -> ImageSettings:
    values: dict[str, Any] = {
        "local_dir": tmp_path / "images",
        "private_network_allowlist": ("127.0.0.1/32",),  # the test server is on 127.0.0.1
        "per_host_rps": None,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "connect_timeout": 2,
        "read_timeout": 2,
    }
    values.update(overrides)
    return ImageSettings(**values)


def open_variant(settings: ImageSettings, asset: dict[str, Any], variant: str, fmt: str):
    key = asset["variants"][variant]["files"][fmt]["key"]
    return Image.open(settings.images_dir() / key)


# --- tests ----------------------------------------------------------------------------------


def test_promoted_images_are_stored_as_resized_variants(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    large = encode(picture((3000, 2000)), "JPEG", quality=90)
    small = encode(picture((300, 200), 1), "JPEG")
    alpha = encode(picture((800, 600), 2, "RGBA"), "PNG")
    large_url = server.add("/large.jpg", large)
    small_url = server.add("/small.jpg", small)
    alpha_url = server.add("/alpha.png", alpha, "image/png")
    unchanged_url = server.add("/not-changed.jpg", small)
    failed_url = server.add("/promotion-failed.jpg", small)
    bridged_url = server.add("/bridged.gif", encode(picture((500, 50), 3), "GIF"), "image/gif")

    hotel = add_listing(engine, 7, "Hotel", [large_url, small_url, small_url])  # URL twice
    museum = add_listing(engine, 7, "Museum", [alpha_url, small_url])  # shared with the hotel
    unchanged = add_listing(engine, 7, "Unchanged", [unchanged_url])
    failed = add_listing(engine, 7, "Failed promotion", [failed_url])
    bridged = add_listing(engine, 7, "Bridged", [bridged_url])
    with engine.begin() as conn:  # an insert whose new id is only in the bridge table
        conn.execute(
            text(
                "INSERT INTO pipeline.bridge_source_target (dmo_id, source_id, target_id,"
                " target_type) VALUES (7, 'bridged', :i, 'listing_info')"
            ),
            {"i": bridged},
        )
    job = add_job(
        engine,
        7,
        [
            {"listing_info_id": hotel, "images_action": "insert"},
            {"listing_info_id": museum, "images_action": "update"},
            {"listing_info_id": unchanged, "images_action": "skip"},
            {"listing_info_id": failed, "promote_status": "failed"},
            {"source_id": "bridged", "listing_info_id": None},
        ],
    )
    settings = image_settings(tmp_path)

    summary = process_images(engine, job_id=job, settings=settings)

    assert (summary.listing_infos, summary.images, summary.downloaded) == (3, 5, 4)
    assert (summary.stored, summary.failed, summary.skipped_unchanged) == (5, 0, 0)
    assert summary.bytes_downloaded == len(large) + len(small) + len(alpha) + len(
        encode(picture((500, 50), 3), "GIF")
    )
    assert server.hits["/not-changed.jpg"] == 0 and server.hits["/promotion-failed.jpg"] == 0
    assert server.hits["/small.jpg"] == 1  # one download for both listings
    with engine.connect() as conn:
        shared = conn.execute(
            text(
                "SELECT listing_info_id, listing_id, variants FROM pipeline.image_assets"
                " WHERE source_url = :u ORDER BY listing_info_id"
            ),
            {"u": small_url},
        ).all()
    assert [r.listing_info_id for r in shared] == [hotel, museum]
    for r in shared:  # stored under each listing's own path
        key = r.variants["thumb"]["files"]["jpeg"]["key"]
        assert key.startswith(f"7/{r.listing_id}/") and (settings.images_dir() / key).is_file()
    rows = assets(engine)
    assert set(rows) == {large_url, small_url, alpha_url, bridged_url}
    big = rows[large_url]
    assert big["status"] == "stored" and big["error_reason"] is None
    assert big["content_hash"] == hashlib.sha256(large).hexdigest()
    assert (big["width"], big["height"], big["bytes"], big["format"]) == (
        3000,
        2000,
        len(large),
        "JPEG",
    )
    assert big["attempts"] == 1 and big["job_id"] == job
    listing_id = rows[large_url]["listing_id"]
    web = big["variants"]["web"]["files"]["webp"]
    assert web["key"] == f"7/{listing_id}/{big['content_hash'][:32]}-web.webp"
    assert Path(web["uri"]) == settings.images_dir() / web["key"]
    for fmt, pil_format in (("webp", "WEBP"), ("jpeg", "JPEG")):
        with open_variant(settings, big, "web", fmt) as image:
            assert (image.format, image.size) == (pil_format, (1600, 1067))
        with open_variant(settings, big, "thumb", fmt) as image:
            assert image.size == (400, 267)
        with open_variant(settings, rows[small_url], "web", fmt) as image:
            assert image.size == (300, 200)  # never upscaled
        with open_variant(settings, rows[small_url], "thumb", fmt) as image:
            assert image.size == (300, 200)
    with open_variant(settings, rows[alpha_url], "web", "webp") as image:
        assert image.mode == "RGBA" and image.getpixel((10, 10))[3] == 0  # transparency kept
    with open_variant(settings, rows[alpha_url], "web", "jpeg") as image:
        assert image.mode == "RGB" and image.getpixel((10, 10)) == (255, 255, 255)  # on white
    with open_variant(settings, rows[bridged_url], "thumb", "jpeg") as image:
        assert image.size == (400, 40)


def test_metadata_is_stripped_and_orientation_applied(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0132] = "2024:05:01 10:00:00"  # DateTime
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    body = encode(picture((800, 400)), "JPEG", exif=exif, icc_profile=icc, comment=b"secret")
    with Image.open(io.BytesIO(body)) as original:  # the source really carries metadata
        assert original.getexif()[0x010F] == "CameraMaker" and "icc_profile" in original.info
    url = server.add("/exif.jpg", body)
    info = add_listing(engine, 3, "Photo", [url])

    summary = process_images(engine, listing_info_ids=[info], settings=image_settings(tmp_path))

    assert summary.stored == 1
    row = assets(engine)[url]
    assert (row["width"], row["height"]) == (400, 800)  # upright
    settings = image_settings(tmp_path)
    for variant in ("web", "thumb"):
        for fmt in ("webp", "jpeg"):
            with open_variant(settings, row, variant, fmt) as image:
                assert image.height > image.width
                assert not image.getexif(), f"{variant}.{fmt} still has EXIF"
                assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
                path = settings.images_dir() / row["variants"][variant]["files"][fmt]["key"]
                assert b"CameraMaker" not in path.read_bytes()


def test_rerun_skips_unchanged_images(engine: Engine, server: ImageServer, tmp_path: Path) -> None:
    first = encode(picture((1200, 900)), "JPEG")
    second = encode(picture((640, 480), 5), "PNG")
    url_a = server.add("/a.jpg", first)
    url_b = server.add("/b.png", second, "image/png")
    server.add("/moved/a.jpg", first)  # the same picture at a new address
    info = add_listing(engine, 1, "Gallery", [url_a, url_b])
    job = add_job(engine, 1, [{"listing_info_id": info}])
    settings = image_settings(tmp_path)
    process_images(engine, job_id=job, settings=settings)
    web = settings.images_dir() / assets(engine)[url_a]["variants"]["web"]["files"]["webp"]["key"]
    written = web.stat().st_mtime_ns

    again = process_images(engine, job_id=job, settings=settings)

    assert (again.skipped_unchanged, again.downloaded, again.stored) == (2, 0, 0)
    assert server.hits["/a.jpg"] == 1 and server.hits["/b.png"] == 1  # no request at all
    assert assets(engine)[url_a]["attempts"] == 1

    # Re-downloading identical bytes does not re-encode them.
    refreshed = process_images(engine, job_id=job, settings=image_settings(tmp_path, refresh=True))
    assert (refreshed.downloaded, refreshed.reencode_skipped, refreshed.bytes_stored) == (2, 2, 0)
    assert server.hits["/a.jpg"] == 2 and web.stat().st_mtime_ns == written

    # A new URL with the same bytes reuses the stored variants.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE public.listing_images SET image = :new WHERE image = :old"),
            {"new": server.url("/moved/a.jpg"), "old": url_a},
        )
    moved = process_images(engine, job_id=job, settings=settings)
    assert (moved.downloaded, moved.reencode_skipped, moved.skipped_unchanged) == (1, 1, 1)
    row = assets(engine)[server.url("/moved/a.jpg")]
    assert row["status"] == "stored" and row["variants"] == assets(engine)[url_a]["variants"]


# Pillow warns (and our own check refuses) between max_pixels and twice that.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_broken_images_are_recorded_and_do_not_affect_others(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    good = encode(picture((900, 600)), "JPEG")
    jpeg = encode(picture((1000, 800), 4), "JPEG")
    bmp = encode(picture((20, 20)), "BMP")
    urls = {
        "good": server.add("/good.jpg", good),
        "html": server.add("/page.jpg", b"<!DOCTYPE html><html>Not found</html>", "text/html"),
        "truncated": server.add("/truncated.jpg", jpeg[: len(jpeg) * 6 // 10]),
        "bomb": server.add("/bomb.png", png_bomb(), "image/png"),
        "wide": server.add("/wide.png", encode(picture((3000, 10)), "PNG"), "image/png"),
        "many_pixels": server.add("/big.png", encode(picture((1500, 1500)), "PNG"), "image/png"),
        "bmp": server.add("/icon.bmp", bmp, "image/bmp"),
        "oversized": server.add("/huge.jpg", os.urandom(300_000), no_length=True),
        "declared": server.add("/declared.jpg", os.urandom(300_000)),
        "loop": server.redirect("/loop-a", "/loop-b"),
        "chain": server.redirect("/hop1", "/hop2"),
        "missing": server.url("/missing.jpg"),
        "ftp": "ftp://example.org/picture.jpg",
        "relative": "images/picture.jpg",
    }
    server.redirect("/loop-b", "/loop-a")
    server.redirect("/hop2", "/hop3")
    server.redirect("/hop3", "/good.jpg")
    other = server.add("/other.png", encode(picture((200, 100)), "PNG"), "image/png")
    info = add_listing(engine, 2, "Broken", list(urls.values()))
    neighbour = add_listing(engine, 2, "Neighbour", [other])
    settings = image_settings(
        tmp_path, max_dimension=2500, max_pixels=2_000_000, max_bytes=200_000, max_redirects=1
    )

    summary = process_images(engine, listing_info_ids=[info, neighbour], settings=settings)

    rows = assets(engine)
    expected = {
        "html": ("failed", "not_an_image", "text/html"),
        "truncated": ("failed", "corrupt_image", "truncated"),
        "bomb": ("failed", "decompression_bomb", "100000"),
        "wide": ("failed", "dimensions_too_large", "3000x10"),
        "many_pixels": ("failed", "decompression_bomb", "1500x1500"),
        "bmp": ("failed", "unsupported_format", "BMP"),
        "oversized": ("failed", "too_large", "200000"),
        "declared": ("failed", "too_large", "Content-Length 300000"),
        "loop": ("failed", "redirect_loop", "/loop-a -> "),
        "chain": ("failed", "too_many_redirects", "more than 1 redirects"),
        "missing": ("failed", "http_status", "HTTP 404"),
        "ftp": ("skipped", "unsupported_scheme", "'ftp'"),
        "relative": ("skipped", "unsupported_scheme", "is not http"),
    }
    for name, (status, reason, words) in expected.items():
        row = rows[urls[name]]
        assert (row["status"], row["error_reason"]) == (status, reason), name
        assert words in row["error_message"], (name, row["error_message"])
        assert row["variants"] == {}
    assert rows[urls["good"]]["status"] == "stored" and rows[other]["status"] == "stored"
    assert rows[urls["ftp"]]["attempts"] == 0 and rows[urls["html"]]["attempts"] == 1
    assert server.hits["/missing.jpg"] == 1  # a 404 is not retried
    assert summary.stored == 2 and summary.skipped_invalid_url == 2 and summary.failed == 11
    assert summary.failed_by_reason == {
        "corrupt_image": 1,
        "decompression_bomb": 2,
        "dimensions_too_large": 1,
        "http_status": 1,
        "not_an_image": 1,
        "redirect_loop": 1,
        "too_large": 2,
        "too_many_redirects": 1,
        "unsupported_format": 1,
    }

    # Failures are retried on later runs until max_attempts, then left alone.
    retry = process_images(
        engine, listing_info_ids=[info], settings=settings.model_copy(update={"max_attempts": 2})
    )
    assert (retry.failed, retry.skipped_unchanged, retry.not_retried) == (11, 1, 0)
    last = process_images(
        engine, listing_info_ids=[info], settings=settings.model_copy(update={"max_attempts": 2})
    )
    assert (last.failed, last.not_retried, last.downloaded) == (0, 11, 0)
    assert server.hits["/page.jpg"] == 2 and assets(engine)[urls["html"]]["attempts"] == 2


def test_transient_errors_are_retried_with_backoff(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    body = encode(picture((300, 300)), "JPEG")
    server.routes["/flaky.jpg"] = lambda hit: Reply(503, b"busy") if hit <= 2 else Reply(body=body)
    server.routes["/limited.jpg"] = lambda hit: (
        Reply(429, b"slow down", headers=(("Retry-After", "0"),)) if hit == 1 else Reply(body=body)
    )
    server.routes["/down.jpg"] = Reply(500, b"error", "text/plain")
    urls = [server.url(p) for p in ("/flaky.jpg", "/limited.jpg", "/down.jpg")]
    info = add_listing(engine, 1, "Flaky", urls)

    summary = process_images(
        engine, listing_info_ids=[info], settings=image_settings(tmp_path, max_retries=2)
    )

    assert (summary.stored, summary.failed) == (2, 1)
    assert server.hits["/flaky.jpg"] == 3 and server.hits["/limited.jpg"] == 2
    assert server.hits["/down.jpg"] == 3
    down = assets(engine)[urls[2]]
    assert down["error_reason"] == "http_status"
    assert down["error_message"] == "HTTP 500 Internal Server Error (after 3 attempts)"


def test_ssrf_guard_refuses_private_addresses_on_every_hop(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    body = encode(picture((300, 200)), "JPEG")
    direct = server.add("/direct.jpg", body)
    info = add_listing(engine, 1, "Direct", [direct])
    production = image_settings(tmp_path, private_network_allowlist=())

    summary = process_images(engine, listing_info_ids=[info], settings=production)

    assert summary.failed_by_reason == {"blocked_address": 1}
    row = assets(engine)[direct]
    assert row["status"] == "failed" and "127.0.0.1" in row["error_message"]
    assert server.hits["/direct.jpg"] == 0  # refused before connecting

    # An allowed host that redirects into a private network is refused at that hop.
    allowed = production.model_copy(update={"private_network_allowlist": ("127.0.0.1/32",)})
    hops = {
        "ok": server.add("/ok.jpg", body),
        "metadata": server.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/"),
        "loopback": server.redirect("/to-loopback", server.url("/ok.jpg", host="127.0.0.2")),
        "file": server.redirect("/to-file", "file:///etc/passwd"),
    }
    hopping = add_listing(engine, 1, "Redirects", list(hops.values()))
    summary = process_images(engine, listing_info_ids=[hopping], settings=allowed)

    rows = assets(engine)
    assert rows[hops["ok"]]["status"] == "stored"
    assert rows[hops["metadata"]]["error_reason"] == "blocked_address"
    assert "169.254.169.254" in rows[hops["metadata"]]["error_message"]
    assert rows[hops["loopback"]]["error_reason"] == "blocked_address"
    assert rows[hops["file"]]["error_reason"] == "unsupported_scheme"
    assert server.hits["/to-metadata"] == 1 and server.hits["/ok.jpg"] == 1


def test_requests_to_one_host_are_rate_limited(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    body = encode(picture((64, 64)), "JPEG")
    urls = [server.add(f"/r{i}.jpg", body) for i in range(8)]
    info = add_listing(engine, 1, "Rated", urls)

    process_images(
        engine, listing_info_ids=[info], settings=image_settings(tmp_path, per_host_rps=5)
    )

    # What the host sees: at 5 per second, eight requests spread over at least 1.4 s and no
    # second holds more than 5 (+1 for scheduling jitter of arrival times on a loaded machine;
    # unlimited, all 8 arrive within a few milliseconds).
    starts = sorted(t for path, times in server.times.items() for t in times)
    assert len(starts) == 8
    assert starts[-1] - starts[0] > 1.2, starts
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 6, starts


def test_store_failure_fails_the_run_after_recording(
    engine: Engine, server: ImageServer, tmp_path: Path
) -> None:
    url = server.add("/one.jpg", encode(picture((100, 100)), "JPEG"))
    info = add_listing(engine, 1, "Unwritable", [url])
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the image directory should be")

    with pytest.raises(ImageStoreError, match="refused writes"):
        process_images(
            engine, listing_info_ids=[info], settings=image_settings(tmp_path, local_dir=blocker)
        )

    row = assets(engine)[url]
    assert (row["status"], row["error_reason"]) == ("failed", "store_error")
    assert row["attempts"] == 0  # not counted against the image: retried however often


def test_s3_store_writes_variants_to_the_bucket(
    engine: Engine, server: ImageServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    s3 = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    try:
        host, port = s3.get_host_and_port()
        for name, value in {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LISTINGS_IMAGE_STORE": "s3",
            "LISTINGS_IMAGES_S3_BUCKET": "dev-listings-images",
            "LISTINGS_IMAGES_S3_PREFIX": "catalogue",
        }.items():
            monkeypatch.setenv(name, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket="dev-listings-images")
        url = server.add("/s3.jpg", encode(picture((2000, 1000)), "JPEG"))
        info = add_listing(engine, 4, "Cloud", [url])
        settings = ImageSettings.from_env(
            private_network_allowlist=("127.0.0.1/32",), per_host_rps=None
        )

        summary = process_images(engine, listing_info_ids=[info], settings=settings)

        assert summary.stored == 1
        row = assets(engine)[url]
        files = row["variants"]["web"]["files"]
        key = f"catalogue/{files['webp']['key']}"
        assert files["webp"]["uri"] == f"s3://dev-listings-images/{key}"
        stored = client.get_object(Bucket="dev-listings-images", Key=key)
        assert stored["ContentType"] == "image/webp"
        assert "immutable" in stored["CacheControl"]
        with Image.open(io.BytesIO(stored["Body"].read())) as image:
            assert image.size == (1600, 800)
        listed = client.list_objects_v2(Bucket="dev-listings-images")["Contents"]
        assert len(listed) == 4  # web and thumb, WebP and JPEG
    finally:
        s3.stop()


def test_s3_store_needs_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGS_IMAGE_STORE", "s3")
    monkeypatch.delenv("LISTINGS_IMAGES_S3_BUCKET", raising=False)
    with pytest.raises(ValueError, match="LISTINGS_IMAGES_S3_BUCKET"):
        ImageSettings.from_env()
