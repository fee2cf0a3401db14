-- Images already stored for these listing_infos, under any URL: bytes that arrive again (a
-- re-download, or the same picture at a new URL) reuse their variants instead of re-encoding.
SELECT listing_info_id, content_hash, variants, width, height, bytes, format
FROM pipeline.image_assets
WHERE listing_info_id = ANY (CAST(:listing_info_ids AS int[]))
  AND status = 'stored'
  AND content_hash IS NOT NULL
