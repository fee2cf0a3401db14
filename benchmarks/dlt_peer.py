"""The peer in the benchmarks (issue 19): dlt, what a data engineer would otherwise pick, loading
the same CSV export into the same PostgreSQL with `write_disposition="merge"` on the source id,
with dlt's defaults (its own extract, normalise and load steps; state in `pipelines_dir`).

Run by benchmarks/run.py (part `dlt`) in a fresh worker process, like the pipeline's stages:
the first load, then the same export again (dlt's "unchanged" re-load). Needs the optional
`[bench]` dependencies (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PIPELINE = "listings_bench"
DATASET = "dlt_listings"
CHUNK = 1000  # records per yielded list: dlt's documented way to cut per-item overhead


def _records(path: Path) -> Iterator[list[dict[str, str]]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [name.lower() for name in next(reader)]  # dlt's names: the key hint matches
        chunk: list[dict[str, str]] = []
        for row in reader:
            chunk.append(dict(zip(header, row, strict=True)))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def load(path: Path, database_url: str, pipelines_dir: Path) -> dict[str, Any]:
    """Merge the export's records into `dlt_listings.listings`; rows in the table after."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    # The embedded server listens on a Unix socket only: dlt wants a host, psycopg2 takes the
    # socket directory from the query (`host=`), which overrides it.
    credentials = url.set(drivername="postgresql", host=url.host or "localhost").render_as_string(
        hide_password=False
    )
    resource = dlt.resource(
        _records(path), name="listings", write_disposition="merge", primary_key="id"
    )
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.postgres(credentials=credentials),
        dataset_name=DATASET,
    )
    pipeline.run(resource)
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f"SELECT count(*) FROM {DATASET}.listings")[0][0]
    return {"records": rows}
