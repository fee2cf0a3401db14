"""Paged JSON API connector (`source_type: api`, options under `import.api`).

Pages are fetched one at a time and their records yielded before the next is requested.
Pagination styles: page number, offset, cursor and next link (body path or Link header).
An import never stops early in silence: an API that keeps failing, answers something that is
not JSON, loops, or has more than `max_pages` pages fails the import, naming URL and page —
a partial import would make the missing listings look deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import (
    ImportFailed,
    RecordProblem,
    SourceRecord,
    get_path,
)
from listings_pipeline.importing.connectors.http import HttpSession
from listings_pipeline.importing.options import (
    ApiOptions,
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    PageNumberPagination,
)
from listings_pipeline.net import origin


def _records(body: Any, records_path: str | None, fail: Any) -> list[Any]:
    if records_path is None:
        records = body
    else:
        try:
            records = get_path(body, records_path)
        except KeyError as err:
            raise fail(f"records_path {records_path!r}: key {err.args[0]!r} not found") from None
    if records is None:
        return []
    if not isinstance(records, list):
        found = type(records).__name__
        hint = "set import.api.records_path" if records_path is None else "check records_path"
        raise fail(f"expected an array of records, found a JSON {found} ({hint})")
    return records


def _number(body: Any, path: str, fail: Any) -> int:
    value = get_path(body, path, None)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise fail(f"{path!r} is {value!r}, not a number") from None


class _Pager:
    """Yields (page number, response, body) for each page of the API, in order."""

    def __init__(self, http: HttpSession, opts: ApiOptions) -> None:
        self.http, self.opts = http, opts

    def too_many(self, url: str) -> ImportFailed:
        return ImportFailed(
            f"{self.http.source}: more than max_pages={self.opts.max_pages} pages at"
            f" {self.http.show(url)}; raise import.api.max_pages if that is expected"
        )

    def fetch(self, number: int, url: str, params: dict[str, Any]) -> tuple[httpx.Response, Any]:
        if number > self.opts.max_pages + 1:  # one more may be fetched, to see it is empty
            raise self.too_many(url)
        response = self.http.get(url, params, what=f"page {number}")
        return response, self.http.json(response, f"page {number}")

    def failer(self, response: httpx.Response, number: int) -> Any:
        return lambda reason: self.http.fail(response, f"page {number}", reason)

    def pages(self) -> Iterator[tuple[int, httpx.Response, list[Any]]]:
        p = self.opts.pagination
        url = self.opts.url
        number = 1
        if isinstance(p, PageNumberPagination):
            size = {p.size_param: p.size} if p.size_param and p.size else {}
            page = p.start_page
            while True:
                response, body = self.fetch(number, url, {p.page_param: page, **size})
                fail = self.failer(response, number)
                records = _records(body, self.opts.records_path, fail)
                if not records:
                    return
                yield number, response, records
                if p.total_pages_path and page - p.start_page + 1 >= _number(
                    body, p.total_pages_path, fail
                ):
                    return
                page, number = page + 1, number + 1
        elif isinstance(p, OffsetPagination):
            offset = 0
            limit = {p.limit_param: p.limit} if p.limit_param else {}
            while True:
                response, body = self.fetch(number, url, {p.offset_param: offset, **limit})
                fail = self.failer(response, number)
                records = _records(body, self.opts.records_path, fail)
                if not records:
                    return
                yield number, response, records
                # Advance by what came back: a server may cap the page below our limit.
                offset += len(records)
                if p.total_path and offset >= _number(body, p.total_path, fail):
                    return
                number += 1
        elif isinstance(p, CursorPagination):
            size = {p.size_param: p.size} if p.size_param and p.size else {}
            cursor: Any = None
            seen: set[str] = set()
            while True:
                params = {**size, **({p.cursor_param: cursor} if cursor is not None else {})}
                response, body = self.fetch(number, url, params)
                fail = self.failer(response, number)
                records = _records(body, self.opts.records_path, fail)
                yield number, response, records
                cursor = get_path(body, p.cursor_path, None)
                if cursor in (None, "", False):
                    return
                if str(cursor) in seen:
                    raise fail(f"cursor {cursor!r} was already used: the API is looping")
                seen.add(str(cursor))
                number += 1
        elif isinstance(p, NextLinkPagination):
            origin = urlsplit(url).netloc
            seen_urls: set[str] = set()
            next_url: str | None = url
            while next_url:
                response, body = self.fetch(number, next_url, {})
                fail = self.failer(response, number)
                yield number, response, _records(body, self.opts.records_path, fail)
                if p.next_path:
                    link = get_path(body, p.next_path, None)
                else:
                    link = response.links.get("next", {}).get("url")
                if not link:
                    return
                next_url = urljoin(str(response.url), str(link))
                if urlsplit(next_url).netloc != origin:
                    # Our credentials go with every request: never to another host.
                    raise fail(f"next link {self.http.show(next_url)} leaves {origin}")
                if next_url in seen_urls:
                    raise fail(f"next link {self.http.show(next_url)} was already fetched")
                seen_urls.add(next_url)
                number += 1
        else:
            response, body = self.fetch(number, url, {})
            yield number, response, _records(body, self.opts.records_path, self.failer(response, 1))


def read_api(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    opts = config.import_.api
    if opts is None:
        raise ImportFailed(f"{config.slug}: source_type api needs an import.api block")
    with HttpSession(opts, source=config.slug, secret_origins=[origin(opts.url)]) as http:
        pager = _Pager(http, opts)
        for number, response, records in pager.pages():
            if number > opts.max_pages and records:
                raise pager.too_many(str(response.url))
            shown = http.show(response.url)
            for i, item in enumerate(records, start=1):
                locator = f"page {number} item {i} ({shown})"
                if isinstance(item, dict):
                    yield SourceRecord(item, locator)
                else:
                    yield RecordProblem(locator, "record is not a JSON object", original=item)
