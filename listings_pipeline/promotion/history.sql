-- Queries over pipeline.listing_history (written by promote.sql and the outside-edit trigger).

-- name: states_as_of
-- Each production row of the listing as of :before (exclusive): per field, the newest value.
SELECT target_table, target_id, jsonb_object_agg(key, value) AS state
FROM (
    SELECT DISTINCT ON (h.target_table, h.target_id, f.key)
           h.target_table, h.target_id, f.key, f.value -> 'new' AS value
    FROM pipeline.listing_history h CROSS JOIN LATERAL jsonb_each(h.changes) AS f(key, value)
    WHERE h.listing_id = :listing_id AND h.changed_at < :before
    ORDER BY h.target_table, h.target_id, f.key, h.version DESC
) x
GROUP BY target_table, target_id;

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
