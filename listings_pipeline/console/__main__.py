"""`python -m listings_pipeline.console [--host H] [--port P]`: run the console."""

from __future__ import annotations

import click

from listings_pipeline.console.app import serve


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def main(host: str, port: int) -> None:
    """Serve the pipeline console (configs, jobs, listings and the JSON API)."""
    serve(host=host, port=port)


if __name__ == "__main__":
    main()
