-- One batch of outcomes (a JSON array of records) in one statement. attempts adds up over runs.
INSERT INTO pipeline.image_assets AS a (
    listing_info_id, listing_id, dmo_id, listing_image_id, source_url, content_hash, variants,
    width, height, bytes, format, status, error_reason, error_message, attempts, job_id,
    processed_at
)
SELECT r.listing_info_id, r.listing_id, r.dmo_id, r.listing_image_id, r.source_url,
       r.content_hash, COALESCE(r.variants, '{}'), r.width, r.height, r.bytes, r.format,
       r.status, r.error_reason, r.error_message, r.attempted, CAST(:job_id AS int), now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r (
    listing_info_id int, listing_id int, dmo_id int, listing_image_id int, source_url text,
    content_hash text, variants jsonb, width int, height int, bytes bigint, format text,
    status text, error_reason text, error_message text, attempted int
)
ON CONFLICT (listing_info_id, source_url) DO UPDATE SET
    listing_id = EXCLUDED.listing_id,
    dmo_id = EXCLUDED.dmo_id,
    listing_image_id = EXCLUDED.listing_image_id,
    content_hash = EXCLUDED.content_hash,
    variants = EXCLUDED.variants,
    width = EXCLUDED.width,
    height = EXCLUDED.height,
    bytes = EXCLUDED.bytes,
    format = EXCLUDED.format,
    status = EXCLUDED.status,
    error_reason = EXCLUDED.error_reason,
    error_message = EXCLUDED.error_message,
    attempts = a.attempts + EXCLUDED.attempts,
    job_id = EXCLUDED.job_id,
    processed_at = EXCLUDED.processed_at,
    updated_at = now()
