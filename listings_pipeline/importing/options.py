"""Options of the network source types (the config's `import.api`, `import.wordpress`,
`import.website` blocks)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiOptions(_Options):
    url: str
    records_path: str | None = None
    headers_from_env: dict[str, str] = Field(default_factory=dict)  # header → env var name
    timeout_seconds: float = 30.0


class WordPressOptions(_Options):
    base_url: str
    post_type: str = "posts"
    per_page: int = Field(default=100, ge=1, le=100)


class WebsiteOptions(_Options):
    start_urls: list[str]
    link_selector: str
    fields: dict[str, str]  # source field → CSS selector on the detail page
    next_selector: str | None = None
    rate_limit_per_second: float = 1.0
