"""Website scraper (`source_type: website`, options under `import.website`).

Walks list pages (the start URLs, then each page's `next_selector` link), follows every
`link_selector` link to a detail page, and reads one record per detail page with the
configured CSS selectors: `h1` (text), `img.hero@src` (an attribute; URLs made absolute),
`div.body@html` (inner HTML). One match gives a string, several a list, none None.

Polite by construction: robots.txt is obeyed (including Crawl-delay), requests are spaced by
`rate_limit_per_second`, the User-Agent names the pipeline and a contact URL, and the crawl is
capped by `max_pages` (more pages fail the import rather than stopping early in silence).

Contained: the crawl stays on the start URLs' hosts and those in `allowed_hosts` — a detail
link elsewhere is a record problem, a next-page link or redirect elsewhere fails the import —
and configured secrets go only to the start URLs' origins.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from selectolax.lexbor import LexborHTMLParser

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord
from listings_pipeline.importing.connectors.http import USER_AGENT, HttpSession, RequestRefused
from listings_pipeline.importing.options import FieldSelector, WebsiteOptions, site_of
from listings_pipeline.net import origin

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_URL_ATTRIBUTES = {"href", "src", "data-src", "poster", "action"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _decode(response: httpx.Response) -> str:
    """The page's text: charset from the Content-Type header, else from a <meta>, else UTF-8."""
    charset = response.charset_encoding
    if not charset and (match := _META_CHARSET.search(response.content[:4096])):
        charset = match.group(1).decode("ascii")
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    return response.content.decode(charset or "utf-8", errors="replace")


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "text/html").split(";")[0].strip().lower()
    return kind in _HTML_TYPES


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(page_url, base.attributes.get("href") or "") if base else page_url


def _extract(tree: LexborHTMLParser, selector: FieldSelector, base: str) -> object:
    values: list[str] = []
    for node in tree.css(selector.css):
        if selector.attribute == "html":
            value = (node.inner_html or "").strip()
        elif selector.attribute:
            value = (node.attributes.get(selector.attribute) or "").strip()
            if value and selector.attribute in _URL_ATTRIBUTES:
                value = urljoin(base, value)
        else:
            value = " ".join(node.text(separator=" ").split())
        if value:
            values.append(value)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


class _Scope:
    """The hosts a crawl may fetch from: the start URLs' (with their ports) and those in
    `allowed_hosts` (an entry without a port allows the host on any port)."""

    def __init__(self, opts: WebsiteOptions) -> None:
        self.sites = {site_of(url) for url in opts.start_urls} | set(opts.allowed_hosts)
        self.any_port = {host for host in opts.allowed_hosts if ":" not in host}

    def outside(self, url: str | httpx.URL) -> str | None:
        """Why `url` is outside the crawl, or None."""
        parsed = httpx.URL(str(url))
        if site_of(parsed) in self.sites or parsed.host in self.any_port:
            return None
        return (
            f"{site_of(parsed)} is not one of the crawl's hosts"
            " (add it to import.website.allowed_hosts to crawl it)"
        )


class _Crawler:
    def __init__(self, http: HttpSession, opts: WebsiteOptions, source: str, scope: _Scope) -> None:
        self.http, self.opts, self.source, self.scope = http, opts, source, scope
        self.user_agent = http.client.headers["User-Agent"]
        self.selectors = opts.selectors()
        self.robots: dict[str, RobotFileParser] = {}
        self.fetched = 0

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.robots:
            self.robots[origin] = self._robots(origin)
        return self.robots[origin].can_fetch(self.user_agent, url)

    def _robots(self, origin: str) -> RobotFileParser:
        robots = RobotFileParser(f"{origin}/robots.txt")
        response = self.http.get(f"{origin}/robots.txt", what="robots.txt")
        if response.status_code in (401, 403):
            robots.disallow_all = True  # as urllib.robotparser and the major crawlers do
        elif not response.is_success:
            robots.allow_all = True  # no robots.txt: no restrictions
        else:
            robots.parse(_decode(response).splitlines())
            if delay := robots.crawl_delay(self.user_agent):
                self.http.limiter.slow_down(float(delay))
            if rate := robots.request_rate(self.user_agent):
                self.http.limiter.slow_down(rate.seconds / rate.requests)
        return robots

    def fetch(self, url: str, what: str) -> httpx.Response:
        self.fetched += 1
        if self.fetched > self.opts.max_pages:
            raise ImportFailed(
                f"{self.source}: more than max_pages={self.opts.max_pages} pages to fetch"
                f" (next: {url}); raise import.website.max_pages if that is expected"
            )
        return self.http.get(url, what=what)

    def links(self, tree: LexborHTMLParser, selector: str, base: str) -> list[str]:
        found: list[str] = []
        for node in tree.css(selector):
            href = node.attributes.get("href")
            if href is None and (inner := node.css_first("a[href]")) is not None:
                href = inner.attributes.get("href")  # the selector picked a card, not its <a>
            if not href:
                continue
            url = urldefrag(urljoin(base, href.strip())).url
            if urlsplit(url).scheme in ("http", "https") and url not in found:
                found.append(url)
        return found

    def crawl(self) -> Iterator[SourceRecord | RecordProblem]:
        seen_lists: set[str] = set()
        seen_details: set[str] = set()
        for start in self.opts.start_urls:
            url: str | None = start
            while url and url not in seen_lists:
                seen_lists.add(url)
                if not self.allowed(url):
                    if url == start:
                        raise ImportFailed(f"{self.source}: robots.txt disallows start URL {url}")
                    yield RecordProblem(url, "list page not fetched: robots.txt disallows it")
                    break
                response = self.fetch(url, "list page")
                if not response.is_success:
                    raise self.http.fail(response, "list page", f"HTTP {response.status_code}")
                tree = LexborHTMLParser(_decode(response))
                base = _base_url(tree, str(response.url))
                details = self.links(tree, self.opts.link_selector, base)
                following = None
                if self.opts.next_selector:
                    following = next(iter(self.links(tree, self.opts.next_selector, base)), None)
                    if following is not None and (off := self.scope.outside(following)):
                        # Stopping here would make the rest of the listings look deleted.
                        raise ImportFailed(
                            f"{self.source}: next list page {following} (from {url}): {off}"
                        )
                del tree
                if not details:
                    yield RecordProblem(
                        url,
                        f"list page has no detail links: link_selector"
                        f" {self.opts.link_selector!r} matched nothing",
                    )
                for detail in details:
                    if detail not in seen_details:
                        seen_details.add(detail)
                        yield self.detail(detail)
                url = following

    def detail(self, url: str) -> SourceRecord | RecordProblem:
        if (off := self.scope.outside(url)) is not None:
            return RecordProblem(url, f"detail page not fetched: {off}")
        if not self.allowed(url):
            return RecordProblem(url, "detail page not fetched: robots.txt disallows it")
        try:
            response = self.fetch(url, "detail page")
        except RequestRefused as err:  # e.g. it redirects off the crawl's hosts
            return RecordProblem(url, f"detail page not fetched: {err}")
        if not response.is_success:
            return RecordProblem(url, f"detail page answered HTTP {response.status_code}")
        if not _is_html(response):
            kind = response.headers.get("Content-Type")
            return RecordProblem(url, f"detail page is not HTML ({kind})")
        tree = LexborHTMLParser(_decode(response))
        base = _base_url(tree, str(response.url))
        record: dict[str, object] = {self.opts.url_field: url}
        for name, selector in self.selectors.items():
            record[name] = _extract(tree, selector, base)
        missing = [name for name in self.selectors if record[name] is None]
        if len(missing) == len(self.selectors):
            return RecordProblem(
                url,
                "no selector matched on the detail page: "
                + ", ".join(f"{name} ({self.opts.fields[name]!r})" for name in missing),
                original=record,
            )
        required = [name for name in self.opts.required_fields if name in missing]
        if required:
            return RecordProblem(
                url,
                "required fields matched nothing: "
                + ", ".join(f"{name} ({self.opts.fields[name]!r})" for name in required),
                original=record,
                field=required[0],
            )
        return SourceRecord(record, url)


def read_website(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    opts = config.import_.website
    if opts is None:
        raise ImportFailed(f"{config.slug}: source_type website needs an import.website block")
    scope = _Scope(opts)
    with HttpSession(
        opts,
        source=config.slug,
        secret_origins=[origin(url) for url in opts.start_urls],
        user_agent=f"{USER_AGENT} (+{opts.contact_url})",
        accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        rate_limit_per_second=opts.rate_limit_per_second,
        follow=scope.outside,
    ) as http:
        yield from _Crawler(http, opts, config.slug, scope).crawl()
