"""The thin Dagster layer: partitions, assets, the review gate check, jobs and sensors.

Everything here calls the domain (`listings_pipeline.pipeline` and friends); nothing here
decides what happens to a listing.
"""
