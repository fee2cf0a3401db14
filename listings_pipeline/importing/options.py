"""Options of the network source types: the config's `import.api`, `import.wordpress` and
`import.website` blocks.

Secrets never appear in a config: a config names the environment variables that hold them
(`headers_from_env`, `params_from_env`, `bearer_token_env`) and only the connector reads them.
A config may name only the variables the operator allows (`listings_pipeline.net.secrets`).
URLs must be absolute http(s) URLs; where they may lead is the egress guard's business.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from listings_pipeline.net.secrets import env_name_problem

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ATTR_NAME = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpOptions(_Options):
    """How requests are made: headers, secrets from the environment, timeouts and retries."""

    headers: dict[str, str] = Field(default_factory=dict)  # literal, non-secret headers
    headers_from_env: dict[str, str] = Field(default_factory=dict)  # header → env var name
    bearer_token_env: str | None = None  # env var → "Authorization: Bearer <value>"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)  # fixed query
    params_from_env: dict[str, str] = Field(default_factory=dict)  # query param → env var name
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)  # on 429, 5xx and connection errors
    backoff_seconds: float = Field(default=1.0, ge=0)  # first retry wait; doubles, with jitter
    max_backoff_seconds: float = Field(default=60.0, ge=0)  # also the most Retry-After honoured
    rate_limit_per_second: float | None = Field(default=None, gt=0)

    @field_validator("headers_from_env", "params_from_env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key, name in value.items():
            try:
                _check_env_name(name)
            except ValueError as err:
                raise ValueError(f"{key}: {err}") from None
        return value

    @field_validator("bearer_token_env")
    @classmethod
    def _bearer_env(cls, value: str | None) -> str | None:
        return None if value is None else _check_env_name(value)


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    if (problem := env_name_problem(name)) is not None:
        raise ValueError(problem)
    return name


def _check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as err:
        raise ValueError(f"{url!r} is not a URL: {err}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{url!r} is not an absolute http:// or https:// URL")
    return url


def site_of(url: str | httpx.URL) -> str:
    """`host` or `host:port` (a port only when not the scheme's default) of `url`."""
    parsed = httpx.URL(str(url))
    return parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"


class NoPagination(_Options):
    style: Literal["none"] = "none"


class PageNumberPagination(_Options):
    """?page=1, 2, 3 … until a page has no records or `total_pages_path` says it was the last."""

    style: Literal["page"]
    page_param: str = "page"
    start_page: int = Field(default=1, ge=0)
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1)
    total_pages_path: str | None = None  # dotted path in the body to the number of pages


class OffsetPagination(_Options):
    """?offset=0, n, 2n … (advanced by the records received) until a page is empty or the
    offset reaches `total_path`'s value."""

    style: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str | None = "limit"
    limit: int = Field(default=100, ge=1)
    total_path: str | None = None  # dotted path in the body to the total number of records


class CursorPagination(_Options):
    """?cursor=<value of `cursor_path` in the previous body> until the cursor is empty."""

    style: Literal["cursor"]
    cursor_param: str = "cursor"
    cursor_path: str
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1)


class NextLinkPagination(_Options):
    """Follow the next page's URL: from `next_path` in the body, or the `Link: rel="next"`
    header when `next_path` is not set."""

    style: Literal["next_link"]
    next_path: str | None = None


Pagination = Annotated[
    NoPagination | PageNumberPagination | OffsetPagination | CursorPagination | NextLinkPagination,
    Field(discriminator="style"),
]


class ApiOptions(HttpOptions):
    url: str
    records_path: str | None = None  # dotted path to the array of records; None: the body
    pagination: Pagination = Field(default_factory=NoPagination)
    max_pages: int = Field(default=10_000, ge=1)  # more pages than this fails the import

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)


class WordPressOptions(HttpOptions):
    base_url: str  # the site, e.g. https://example.org
    post_type: str = "posts"  # REST base of the post type: posts, pages, listings, …
    api_path: str = "/wp-json/wp/v2"
    per_page: int = Field(default=100, ge=1, le=100)  # WordPress refuses more than 100
    max_pages: int = Field(default=10_000, ge=1)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("post_type")
    @classmethod
    def _post_type(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_-]+$", value):
            raise ValueError("post_type must be the REST base of a post type, e.g. 'posts'")
        return value


class FieldSelector(BaseModel):
    """`css` selector, plus `attribute` (from `sel@attr`), `@html` for inner HTML, else text."""

    model_config = ConfigDict(frozen=True)
    css: str
    attribute: str | None = None

    @classmethod
    def parse(cls, spec: str) -> FieldSelector:
        css, sep, attr = spec.rpartition("@")
        if sep and css.strip() and _ATTR_NAME.match(attr):
            return cls(css=css.strip(), attribute=attr)
        return cls(css=spec.strip())


class WebsiteOptions(HttpOptions):
    start_urls: list[str] = Field(min_length=1)  # list pages
    # Other hosts the crawl may fetch ("host" or "host:port"); never sent the secrets.
    allowed_hosts: list[str] = Field(default_factory=list)
    link_selector: str  # on list pages: the links (href) to detail pages
    fields: dict[str, str] = Field(min_length=1)  # record field → selector on detail pages
    required_fields: list[str] = Field(default_factory=list)  # missing → a record problem
    next_selector: str | None = None  # on list pages: the link to the next list page
    url_field: str = "url"  # the record field that holds the detail page's URL
    contact_url: str  # goes in the User-Agent so a site owner can reach the operator
    rate_limit_per_second: float = Field(default=1.0, gt=0, le=20)
    max_pages: int = Field(default=1000, ge=1)  # list + detail pages; more fails the import

    @field_validator("start_urls")
    @classmethod
    def _start_urls(cls, value: list[str]) -> list[str]:
        return [_check_url(url) for url in value]

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = []
        for entry in value:
            try:
                hosts.append(site_of(f"http://{entry.strip()}"))
            except (httpx.InvalidURL, ValueError):
                raise ValueError(f"{entry!r} is not a host name (or host:port)") from None
            if "/" in entry or "@" in entry:
                raise ValueError(f"{entry!r} is not a host name (or host:port)")
        return hosts

    @field_validator("link_selector", "next_selector")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            _check_css(value)
        return value

    @field_validator("fields")
    @classmethod
    def _field_selectors(cls, value: dict[str, str]) -> dict[str, str]:
        for name, spec in value.items():
            try:
                _check_css(FieldSelector.parse(spec).css)
            except ValueError as err:
                raise ValueError(f"fields.{name}: {err}") from None
        return value

    @model_validator(mode="after")
    def _required_are_fields(self) -> WebsiteOptions:
        unknown = [f for f in self.required_fields if f not in self.fields]
        if unknown:
            raise ValueError(f"required_fields {unknown} are not keys of fields")
        if self.url_field in self.fields:
            raise ValueError(f"url_field {self.url_field!r} is also a key of fields")
        return self

    def selectors(self) -> dict[str, FieldSelector]:
        return {name: FieldSelector.parse(spec) for name, spec in self.fields.items()}


def _check_css(selector: str) -> None:
    from selectolax.lexbor import LexborHTMLParser, SelectolaxError

    try:
        LexborHTMLParser("<html></html>").css(selector)
    except SelectolaxError as err:
        raise ValueError(f"not a valid CSS selector: {selector!r}") from err
