-- The images to consider: every public.listing_images row of the listing_infos promoted with
-- changed images by job :job_id, plus the listing_infos asked for by id, each with what
-- pipeline.image_assets already knows about its URL.
-- A job's listing_infos: its stage rows with images_action insert/update that promotion marked
-- succeeded; the id is listing_info_internal_id (written back by promotion), else the bridge.
-- One row per (listing_info, URL): a URL listed twice for a listing is one image.
WITH targets AS (
    SELECT COALESCE(s.listing_info_internal_id, b.target_id) AS listing_info_id
    FROM stage.listings_flat AS s
    LEFT JOIN pipeline.bridge_source_target AS b
        ON b.dmo_id = s.dmo_id AND b.source_id = s.source_id AND b.target_type = 'listing_info'
    WHERE s.job_id = CAST(:job_id AS int)
      AND s.images_action IN ('insert', 'update')
      AND s.promote_status = 'succeeded'
    UNION
    SELECT unnest(CAST(:listing_info_ids AS int[]))
),
images AS (
    SELECT DISTINCT ON (li.listing_info_id, li.image)
        li.id AS listing_image_id, li.listing_info_id, info.listing_id, info.dmo_id,
        li.image AS source_url
    FROM public.listing_images AS li
    JOIN public.listing_info AS info ON info.id = li.listing_info_id
    WHERE li.listing_info_id IN (SELECT listing_info_id FROM targets)
    ORDER BY li.listing_info_id, li.image, li.sort_order, li.id
)
SELECT i.listing_image_id, i.listing_info_id, i.listing_id, i.dmo_id, i.source_url,
       a.status, a.content_hash, a.variants, a.width, a.height, a.bytes, a.format, a.attempts
FROM images AS i
LEFT JOIN pipeline.image_assets AS a
    ON a.listing_info_id = i.listing_info_id AND a.source_url = i.source_url
ORDER BY i.listing_info_id, i.source_url
