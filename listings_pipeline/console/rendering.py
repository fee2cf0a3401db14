"""Page rendering: Jinja2 templates with the layout's context (user, sidebar, CSRF token)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from listings_pipeline.console.nav import visible_nav
from listings_pipeline.console.users import Principal
from listings_pipeline.settings import get_settings

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def with_query(request: Request, **params: Any) -> str:
    """This page's path and query with `params` replaced (a relative link)."""
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}"


def _datetime(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{secs}s"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _size(num: int | None) -> str:
    if num is None:
        return "—"
    size = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{num} B"


templates.env.globals["with_query"] = with_query
templates.env.filters.update(dt=_datetime, duration=_duration, pretty_json=_json, size=_size)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    context.update(
        principal=principal,
        nav=visible_nav(principal),
        csrf_token=principal.csrf_token if principal else None,
        environment=get_settings().environment,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # pages show private data
    return response
