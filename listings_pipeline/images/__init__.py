"""Image processing (issue 9): download the images of promoted listings, verify them, and store
resized, metadata-free WebP and JPEG variants in the image store (local directory or S3)."""

from listings_pipeline.images.run import ImageRunSummary, ImageStoreError, process_images
from listings_pipeline.images.settings import ImageSettings, VariantSpec

__all__ = ["ImageRunSummary", "ImageSettings", "ImageStoreError", "VariantSpec", "process_images"]
