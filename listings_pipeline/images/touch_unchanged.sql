-- Unchanged images are not rewritten; only the listing_images row they now belong to is noted.
UPDATE pipeline.image_assets AS a
SET listing_image_id = r.listing_image_id, updated_at = now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
    AS r (listing_info_id int, source_url text, listing_image_id int)
WHERE a.listing_info_id = r.listing_info_id
  AND a.source_url = r.source_url
  AND a.listing_image_id IS DISTINCT FROM r.listing_image_id
