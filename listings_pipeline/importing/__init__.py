"""Import stage: a source → immutable, gzip JSON-lines raw files registered in pipeline.files."""
