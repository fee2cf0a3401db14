"""WordPress REST API connector (`source_type: wordpress`, options under `import.wordpress`).

Reads `<base_url>/wp-json/wp/v2/<post_type>?per_page=…&page=…` page by page, as many pages as
the first answer's X-WP-TotalPages header says. Records are the post objects as WordPress
returns them (`title.rendered` stays nested; mapping resolves dotted paths). Pages are ordered
by id so that posts published during an import do not shift page boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord
from listings_pipeline.importing.connectors.http import HttpSession
from listings_pipeline.net import origin

log = logging.getLogger(__name__)


def _header_int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _past_last_page(response: httpx.Response) -> bool:
    try:
        return response.json().get("code") == "rest_post_invalid_page_number"
    except (ValueError, AttributeError):
        return False


def read_wordpress(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    opts = config.import_.wordpress
    if opts is None:
        raise ImportFailed(f"{config.slug}: source_type wordpress needs an import.wordpress block")
    endpoint = f"{opts.base_url.rstrip('/')}/{opts.api_path.strip('/')}/{opts.post_type}"
    order = {} if "orderby" in opts.params else {"orderby": "id", "order": "asc"}
    received = 0
    total_pages: int | None = None
    total: int | None = None
    with HttpSession(opts, source=config.slug, secret_origins=[origin(opts.base_url)]) as http:
        page = 1
        too_many = ImportFailed(
            f"{config.slug}: {endpoint} has more than max_pages={opts.max_pages} pages"
            " of posts; raise import.wordpress.max_pages if that is expected"
        )
        while total_pages is None or page <= total_pages:
            if page > opts.max_pages + 1 or (total_pages or 0) > opts.max_pages:
                raise too_many
            what = f"page {page}"
            response = http.get(
                endpoint, {**order, "per_page": opts.per_page, "page": page}, what=what
            )
            if page > 1 and response.status_code == 400 and _past_last_page(response):
                break  # without X-WP-TotalPages, WordPress answers the page after the last so
            body = http.json(response, what)
            if not isinstance(body, list):
                raise http.fail(
                    response,
                    what,
                    f"expected a JSON array of {opts.post_type}, found a JSON"
                    f" {type(body).__name__} (is {opts.post_type!r} the REST base of the post"
                    " type?)",
                )
            if page == 1:
                total_pages = _header_int(response.headers.get("X-WP-TotalPages"))
                total = _header_int(response.headers.get("X-WP-Total"))
            if not body:
                break  # no headers (a proxy may strip them): an empty page is the end
            if page > opts.max_pages:
                raise too_many
            shown = http.show(response.url)
            for i, post in enumerate(body, start=1):
                ident = f" id {post.get('id')}" if isinstance(post, dict) else ""
                locator = f"page {page} item {i}{ident} ({shown})"
                if isinstance(post, dict):
                    received += 1
                    yield SourceRecord(post, locator)
                else:
                    yield RecordProblem(locator, "post is not a JSON object", original=post)
            page += 1
    if total is not None and received != total:
        # Posts were published or removed while we read; the next import picks them up.
        log.warning(
            "%s: %s announced %d %s but %d were read",
            config.slug,
            endpoint,
            total,
            opts.post_type,
            received,
        )
