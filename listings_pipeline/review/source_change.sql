-- name: record_fill_stats
-- How many of the job's records fill each stage column a config can map: one pass over the
-- job's stage rows (count(col) reads the null bitmap, never a TOASTed value; collections by
-- their content hash, null exactly when empty).
INSERT INTO pipeline.job_fill_stats (job_id, records, filled)
SELECT :job_id, count(*), jsonb_build_object(
    'listing_name', count(listing_name),
    'listing_google_place_id', count(listing_google_place_id),
    'listing_status', count(listing_status),
    'listing_visible', count(listing_visible),
    'listing_info_description', count(listing_info_description),
    'info_status', count(info_status),
    'info_visible', count(info_visible),
    'ci_name', count(ci_name),
    'ci_email', count(ci_email),
    'ci_local_phone', count(ci_local_phone),
    'ci_international_phone', count(ci_international_phone),
    'ci_website_url', count(ci_website_url),
    'ci_socials', count(ci_socials),
    'loc_address1', count(loc_address1),
    'loc_address2', count(loc_address2),
    'loc_region', count(loc_region),
    'loc_city', count(loc_city),
    'loc_state', count(loc_state),
    'loc_zip', count(loc_zip),
    'loc_country', count(loc_country),
    'loc_lat', count(loc_lat),
    'loc_lng', count(loc_lng),
    'images', count(images_content_hash),
    'dates', count(opening_dates_content_hash),
    'hours', count(opening_hours_content_hash),
    'attributes', count(attributes_content_hash))
FROM stage.listings_flat
-- an unchanged job's records are its base's rows (importing/unchanged.py)
WHERE job_id = (SELECT coalesce(unchanged_of, id) FROM pipeline.jobs WHERE id = :job_id)
  AND rec_num IS NOT NULL
ON CONFLICT (job_id) DO UPDATE SET records = EXCLUDED.records, filled = EXCLUDED.filled
RETURNING records, filled;

-- name: previous_completed_job
-- The source's latest earlier import that went all the way (promoted), and whether its fill
-- statistics exist (jobs from before they were kept get them from their stage rows, if any).
SELECT j.id, f.records, f.filled,
       EXISTS (SELECT 1 FROM stage.listings_flat s WHERE s.job_id = j.id) AS has_rows
FROM pipeline.jobs j
LEFT JOIN pipeline.job_fill_stats f ON f.job_id = j.id
WHERE j.slug = :slug AND j.id < :job_id AND j.status = 'completed'
ORDER BY j.id DESC LIMIT 1;

-- name: change_counts
-- What the job would do to the source's listings, in one pass over its rows: rows that delete,
-- rows that clear values; and how many live listing_info the source brought in.
SELECT count(*) FILTER (WHERE change_kind = 'delete') AS deleting_rows,
       count(*) FILTER (WHERE clears_fields IS NOT NULL AND change_kind = 'update') AS clearing_rows,
       (SELECT count(*) FROM pipeline.source_listing_info m
        JOIN public.listing_info li ON li.id = m.listing_info_id
        WHERE m.slug = :slug AND li.info_status <> 'missing_from_import'
          AND NOT li.origin_deleted) AS source_listings
FROM stage.listings_flat WHERE job_id = :job_id;

-- name: clearing_by_field
-- Per field, the rows that would clear it (asked only when some row clears a value).
SELECT f.field, count(*) AS n
FROM stage.listings_flat s CROSS JOIN LATERAL unnest(s.clears_fields) AS f(field)
WHERE s.job_id = :job_id AND s.clears_fields IS NOT NULL AND s.change_kind = 'update'
GROUP BY f.field;
