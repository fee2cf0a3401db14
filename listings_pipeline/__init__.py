"""listings_pipeline: keep a listings catalogue in sync with many messy sources."""
