-- The published catalogue (egress.listings_v1, sql/101_egress.sql) for the catalogue API and
-- the JSON-LD export. Filters are separate fragments joined into {filters}, so every query the
-- planner sees has only the conditions asked for (no "param IS NULL OR ..." that would keep a
-- generic plan from using an index). Pages go by identifier (keyset): page 500 costs page 1.

-- name: listings
SELECT v.* FROM egress.listings_v1 v
WHERE true {filters}
ORDER BY v.identifier
LIMIT :limit;

-- name: listings_all
-- The export: every published listing, in identifier order, streamed.
SELECT v.* FROM egress.listings_v1 v
WHERE true {filters}
ORDER BY v.identifier;

-- name: after
AND v.identifier > :after

-- name: identifier
AND v.identifier = :identifier

-- name: dmo
AND EXISTS (SELECT 1 FROM public.listing_info li
            WHERE li.listing_id = v.identifier AND li.dmo_id = :dmo_id
              AND li.info_visible AND li.info_status = 'active')

-- name: updated_since
-- date_modified >= :since, through the history's changed_at index.
AND v.identifier IN (SELECT h.listing_id FROM pipeline.listing_history h
                     WHERE h.changed_at >= :since AND h.change_type NOT IN ('claim', 'unclaim'))

-- name: bbox
AND v.latitude BETWEEN :min_lat AND :max_lat AND v.longitude BETWEEN :min_lng AND :max_lng

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
