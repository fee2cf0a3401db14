"""The pipeline console: a server-rendered admin app and JSON API over the pipeline's tables.

`create_app()` builds the FastAPI app, `serve()` runs it with uvicorn; accounts are managed
with the functions in `listings_pipeline.console.users` (also `python -m ...console.users`).
"""

from listings_pipeline.console.app import create_app, serve
from listings_pipeline.console.users import add_user, grant_role

__all__ = ["add_user", "create_app", "grant_role", "serve"]
