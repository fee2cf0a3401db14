-- name: reset
-- The demo starts from an empty catalogue (embedded database only).
DO $$
DECLARE names TEXT;
BEGIN
  SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO names
  FROM pg_tables
  WHERE schemaname IN ('public', 'pipeline', 'stage') AND tablename <> 'schema_migrations'
    AND tablename NOT LIKE 'geocode%';
  IF names IS NOT NULL THEN EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE'; END IF;
END $$;

-- name: production_counts
SELECT (SELECT count(*) FROM public.listings) AS listings,
       (SELECT count(*) FROM public.listings WHERE listing_visible) AS visible,
       (SELECT count(*) FROM public.listing_info) AS infos,
       (SELECT count(*) FROM public.listing_images) AS images,
       (SELECT count(*) FROM pipeline.bridge_source_target) AS sources;

-- name: shared_listings
SELECT l.name, loc.city, count(DISTINCT li.dmo_id) AS dmos
FROM public.listings l
JOIN public.listing_info li ON li.listing_id = l.id
LEFT JOIN public.locations loc ON loc.id = l.location_id
GROUP BY l.id, l.name, loc.city HAVING count(DISTINCT li.dmo_id) > 1 ORDER BY l.name;

-- name: hidden_listings
SELECT name, listing_status, listing_visible FROM public.listings
WHERE NOT listing_visible ORDER BY name;

-- name: suggested_matches
SELECT s.id, s.listing_name, s.loc_address1, s.match_score, l.name AS candidate,
       lo.address1 AS candidate_address
FROM stage.listings_flat s
JOIN public.listings l ON l.id = s.match_candidate_id
LEFT JOIN public.locations lo ON lo.id = l.location_id
WHERE s.job_id = :job_id AND s.review_status = 'pending' AND s.change_kind = 'uncertain_match'
ORDER BY s.id;
