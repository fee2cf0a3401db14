"""`listings-pipeline export jsonld`: the published catalogue as one JSON-LD document
(schema.org, `@graph` of LocalBusiness / TouristAttraction nodes), written as it is read."""

from __future__ import annotations

from typing import BinaryIO

import orjson
from sqlalchemy import Engine

from listings_pipeline.catalogue.published import iter_listings, jsonld


def write_jsonld(
    engine: Engine, out: BinaryIO, *, dmo_id: int | None = None, base_url: str | None = None
) -> int:
    """Write the catalogue (of one DMO) to `out`; return the number of listings. Rows are
    streamed from the database and each node written at once, so memory does not grow with
    the catalogue."""
    count = 0
    out.write(b'{"@context":"https://schema.org","@graph":[')
    with engine.connect() as conn:
        for item in iter_listings(conn, dmo_id):
            out.write(b"\n" if count == 0 else b",\n")
            out.write(orjson.dumps(jsonld(item, base_url)))
            count += 1
    out.write(b"\n]}\n")
    return count
