"""Benchmark of the image step: N generated images served from 127.0.0.1, processed by
process_images into a local store, against the embedded PostgreSQL.

    /work/hvenv/bin/python benchmarks/images_bench.py [--images 1000] [--concurrency 8]
        [--decode-concurrency 2] [--webp-method 4]

Images are generated and served by child processes (python -m http.server, HTTP/1.0: one
connection per request), so the peak RSS printed is this process's own: the pipeline side.
The mix: 70% 1600x1067 JPEG, 20% 3000x2000 JPEG (camera size), 10% 1000x750 PNG, each unique
(blurred noise over a gradient: photo-like detail, so file sizes and encode times are realistic).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(directory: Path, count: int) -> None:
    from PIL import Image, ImageDraw, ImageFilter

    directory.mkdir(parents=True, exist_ok=True)
    textures: dict[tuple[int, int], tuple[Image.Image, Image.Image]] = {}
    for i in range(count):
        kind = i % 10
        size = (3000, 2000) if kind in (0, 1) else (1000, 750) if kind == 2 else (1600, 1067)
        if size not in textures:  # blurred noise: photo-like detail and realistic JPEG sizes
            noise = Image.effect_noise(size, 40).filter(ImageFilter.GaussianBlur(2))
            textures[size] = (Image.linear_gradient("L").resize(size), noise)
        gradient, noise = textures[size]
        image = Image.merge("RGB", (gradient, noise, Image.new("L", size, (i * 7) % 256)))
        draw = ImageDraw.Draw(image)
        w, h = size
        draw.ellipse((w // 5, h // 5, w * 4 // 5, h * 4 // 5), outline=(255, i % 256, 0), width=9)
        draw.text((20, 20), f"image {i}", fill=(255, 255, 255))
        if kind == 2:
            image.save(directory / f"img{i:05d}.png", "PNG")
        else:
            image.save(directory / f"img{i:05d}.jpg", "JPEG", quality=88)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--decode-concurrency", type=int, default=2)
    parser.add_argument("--webp-method", type=int, default=4, help="libwebp effort 0-6")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.images)
        return

    work = Path(tempfile.mkdtemp(prefix="lp-bench-"))  # short: PostgreSQL's socket lives here
    os.environ["LISTINGS_HOME"] = str(work)
    files = work / "served"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, __file__, "--generate", str(files), "--images", str(args.images)],
        check=True,
    )
    names = sorted(p.name for p in files.iterdir())
    served_bytes = sum(p.stat().st_size for p in files.iterdir())
    print(
        f"generated {len(names)} images, {served_bytes / 1e6:.1f} MB, "
        f"in {time.monotonic() - started:.1f} s"
    )
    port = free_port()
    http = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=files,  # python -m http.server serves its working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from sqlalchemy import text

    from listings_pipeline.db import get_engine, reset_engine
    from listings_pipeline.db.embedded import stop
    from listings_pipeline.db.migrate import upgrade
    from listings_pipeline.images import ImageSettings, process_images

    try:
        wait_until_serving(f"http://127.0.0.1:{port}/{names[0]}")
        engine = get_engine()
        upgrade(engine)
        per_listing = 10
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO public.dmos (id, name) VALUES (1, 'Bench DMO')"))
            conn.execute(
                text(
                    "INSERT INTO public.listings (name)"
                    " SELECT 'Listing ' || n FROM generate_series(1, :n) AS n"
                ),
                {"n": -(-len(names) // per_listing)},
            )
            conn.execute(
                text(
                    "INSERT INTO public.listing_info (listing_id, dmo_id)"
                    " SELECT id, 1 FROM public.listings ORDER BY id"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO public.listing_images (listing_info_id, image, sort_order)"
                    " SELECT info.id, u.url, u.n"
                    " FROM unnest(CAST(:urls AS text[])) WITH ORDINALITY AS u (url, n)"
                    " JOIN public.listing_info AS info ON info.id = (u.n - 1) / :per + 1"
                ),
                {"urls": [f"http://127.0.0.1:{port}/{n}" for n in names], "per": per_listing},
            )
            info_ids = list(conn.execute(text("SELECT id FROM public.listing_info")).scalars())
        settings = ImageSettings(
            local_dir=work / "images",
            private_network_allowlist=("127.0.0.1/32",),  # the server is on 127.0.0.1
            per_host_rps=None,  # one local host: measure the pipeline, not the politeness limit
            concurrency=args.concurrency,
            decode_concurrency=args.decode_concurrency,
            webp_method=args.webp_method,
        )
        baseline = peak_rss_mb()
        cpu = cpu_seconds()
        first = process_images(engine, listing_info_ids=info_ids, settings=settings)
        cpu = cpu_seconds() - cpu
        peak = peak_rss_mb()
        again = process_images(engine, listing_info_ids=info_ids, settings=settings)
        stored_bytes = sum(p.stat().st_size for p in (work / "images").rglob("*") if p.is_file())

        print(
            f"cpus: {os.cpu_count()} (load average {os.getloadavg()[0]:.1f}), "
            f"{settings.concurrency} downloads, {settings.decode_concurrency} decodes, "
            f"webp method {settings.webp_method}"
        )
        print(
            f"first run:  {first.stored} stored, {first.failed} failed, "
            f"{first.bytes_downloaded / 1e6:.1f} MB in, {first.bytes_stored / 1e6:.1f} MB out, "
            f"{first.elapsed_seconds:.1f} s, {first.images_per_second:.1f} images/s, "
            f"{cpu / max(first.stored, 1) * 1000:.0f} ms CPU per image"
        )
        print(
            f"re-run:     {again.skipped_unchanged} skipped unchanged, "
            f"{again.downloaded} downloaded, {again.elapsed_seconds:.2f} s"
        )
        print(f"variants on disk: {stored_bytes / 1e6:.1f} MB")
        print(f"peak RSS: {peak:.0f} MB (before the run: {baseline:.0f} MB)")
    finally:
        http.terminate()
        http.wait()
        reset_engine()
        stop(work / "pgdata")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
