-- Queries over pipeline.listing_history (written by promote.sql and the outside-edit trigger).

-- name: states_as_of
-- Each production row of the listing as of :before (exclusive): per field, the newest value.
-- A create marks a new listing_info's description "elided" (promote.sql write_history): its
-- value then is the "old" of its first later change, or the row's current one if it never
-- changed.
WITH fields AS (
    SELECT DISTINCT ON (h.target_table, h.target_id, f.key)
           h.target_table, h.target_id, f.key, f.value
    FROM pipeline.listing_history h CROSS JOIN LATERAL jsonb_each(h.changes) AS f(key, value)
    WHERE h.listing_id = :listing_id AND h.changed_at < :before
    ORDER BY h.target_table, h.target_id, f.key, h.version DESC
)
SELECT f.target_table, f.target_id,
       jsonb_object_agg(f.key, CASE WHEN NOT f.value ? 'elided' THEN f.value -> 'new'
           ELSE coalesce(
               (SELECT l.changes -> f.key -> 'old' FROM pipeline.listing_history l
                WHERE l.target_table = f.target_table AND l.target_id = f.target_id
                  AND l.changed_at >= :before AND l.changes ? f.key
                ORDER BY l.version LIMIT 1),
               (SELECT to_jsonb(li.description) FROM public.listing_info li
                WHERE f.target_table = 'listing_info' AND li.id = f.target_id)) END) AS state
FROM fields f
GROUP BY f.target_table, f.target_id;

-- name: job_changes
SELECT target_table, target_id, listing_id, version, change_type, changes, job_id, stage_id,
       reviewer, change_reason, changed_at
FROM pipeline.listing_history WHERE job_id = :job_id
ORDER BY listing_id,
         array_position(ARRAY['listings', 'locations', 'listing_info', 'contact_info'], target_table),
         target_id, version
LIMIT :limit OFFSET :offset;

-- name: job_change_summary
SELECT target_table, change_type, count(*) AS n FROM pipeline.listing_history
WHERE job_id = :job_id GROUP BY 1, 2 ORDER BY 1, 2;

-- name: listing_history
SELECT target_table, target_id, listing_id, version, change_type, changes, job_id, stage_id,
       reviewer, change_reason, changed_at
FROM pipeline.listing_history WHERE listing_id = :listing_id
ORDER BY changed_at,
         array_position(ARRAY['listings', 'locations', 'listing_info', 'contact_info'], target_table),
         target_id, version;
