"""The pipeline console: a server-rendered admin app and JSON API over the pipeline's tables.

`create_app()` builds the FastAPI app, `serve()` runs it with uvicorn; accounts are managed
with the functions in `listings_pipeline.console.users` (also `python -m ...console.users`).
"""

from importlib import import_module
from typing import Any

__all__ = ["add_user", "create_app", "grant_role", "serve"]
_HOMES = {"create_app": "app", "serve": "app", "add_user": "users", "grant_role": "users"}


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI loads `console.users` for its `users` commands on every
    # start, and the web app (FastAPI, pages) is only needed by `listings-pipeline console`.
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
