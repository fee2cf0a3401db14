-- The published catalogue (egress.listings_v1, sql/101_egress.sql) for the catalogue API and
-- the JSON-LD export. Filters are separate fragments joined into {filters}, so every query the
-- planner sees has only the conditions asked for (no "param IS NULL OR ..." that would keep a
-- generic plan from using an index). Pages go by identifier (keyset): page 500 costs page 1.

-- name: listings
-- The page's identifiers first, from the base tables (cheap), then the view's rows for those
-- only: the per-listing JSON is built for the rows returned, not for every row a filter scans.
WITH page AS (
    SELECT l.id FROM public.listings l
    LEFT JOIN public.locations loc ON loc.id = l.location_id
    WHERE egress.is_published_v1(l.id) {filters}
    ORDER BY l.id
    LIMIT :limit
)
SELECT v.* FROM page JOIN egress.listings_v1 v ON v.identifier = page.id
ORDER BY v.identifier;

-- name: listings_all
-- The export: every published listing (of a DMO), in identifier order, streamed.
SELECT v.* FROM public.listings l
JOIN egress.listings_v1 v ON v.identifier = l.id
WHERE true {filters}
ORDER BY l.id;

-- name: after
AND l.id > :after

-- name: identifier
AND l.id = :identifier

-- name: dmo
AND EXISTS (SELECT 1 FROM public.listing_info li
            WHERE li.listing_id = l.id AND li.dmo_id = :dmo_id
              AND li.info_visible AND li.info_status = 'active')

-- name: updated_since
-- date_modified >= :since, through the history's changed_at index.
AND l.id IN (SELECT h.listing_id FROM pipeline.listing_history h
             WHERE h.changed_at >= :since AND h.change_type NOT IN ('claim', 'unclaim'))

-- name: bbox
AND loc.lat BETWEEN CAST(:min_lat AS NUMERIC) AND CAST(:max_lat AS NUMERIC)
AND loc.lng BETWEEN CAST(:min_lng AS NUMERIC) AND CAST(:max_lng AS NUMERIC)

-- name: changes
-- The changes feed: versions in pipeline.listing_history after the cursor, in the order of the
-- transactions that wrote them, and only of transactions older than every one still running
-- (pg_snapshot_xmin): a version committed later always sorts after what was already served,
-- so a client that resumes from its cursor misses nothing. Claims are left out (no change a
-- consumer sees).
SELECT h.xact_id::TEXT AS xact_id, h.target_table, h.target_id, h.version, h.listing_id,
       h.change_type, h.changed_at,
       ARRAY(SELECT jsonb_object_keys(h.changes) ORDER BY 1) AS fields,
       egress.is_published_v1(h.listing_id) AS in_catalogue
FROM pipeline.listing_history h
WHERE (h.xact_id, h.target_table, h.target_id, h.version)
          > (CAST(:xact_id AS xid8), CAST(:target_table AS TEXT), CAST(:target_id AS INT),
             CAST(:version AS INT))
  AND h.xact_id < pg_snapshot_xmin(pg_current_snapshot())
  AND h.change_type NOT IN ('claim', 'unclaim')
  {filters}
ORDER BY h.xact_id, h.target_table, h.target_id, h.version
LIMIT :limit;

-- name: changes_dmo
AND EXISTS (SELECT 1 FROM public.listing_info li
            WHERE li.listing_id = h.listing_id AND li.dmo_id = :dmo_id)

-- name: changes_end
-- The position after the newest version a feed can serve now ("start from now").
SELECT h.xact_id::TEXT AS xact_id, h.target_table, h.target_id, h.version
FROM pipeline.listing_history h
WHERE h.xact_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY h.xact_id DESC, h.target_table DESC, h.target_id DESC, h.version DESC
LIMIT 1;
