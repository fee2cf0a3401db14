"""The wheel carries everything the product reads at run time — migrations, SQL, templates,
static files, the Dagster instance and workspace files — so an installed package works
without a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_migrations_dagster_files_and_static_assets(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("listings_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(p.name for p in (ROOT / "sql").glob("*.sql"))
    assert migrations and {f"listings_pipeline/migrations/{m}" for m in migrations} <= names
    for shipped in (
        "listings_pipeline/orchestration/dagster.yaml",
        "listings_pipeline/orchestration/workspace.yaml",
        "listings_pipeline/console/static/review.js",
        "listings_pipeline/console/static/console.css",
        "listings_pipeline/console/templates/review.html",
        "listings_pipeline/pipeline.sql",
        "listings_pipeline/job_runs.sql",
    ):
        assert shipped in names, shipped
    # Every file the package reads beside its code is in the wheel.
    package = ROOT / "listings_pipeline"
    for path in package.rglob("*"):
        if (
            path.suffix in (".sql", ".yaml", ".html", ".css", ".js")
            and "__pycache__" not in path.parts
        ):
            assert f"listings_pipeline/{path.relative_to(package)}" in names, path
