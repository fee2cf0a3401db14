-- name: supersede_older
UPDATE pipeline.jobs SET status = 'superseded', finished_at = now()
WHERE slug = :slug AND id < :job_id AND status IN ('running', 'review', 'pending')
RETURNING id;

-- name: stage_state
SELECT name::text AS name, status FROM pipeline.job_stages WHERE job_id = :job_id;

-- name: approved_rows
SELECT count(*) FROM stage.listings_flat WHERE job_id = :job_id AND ok_to_promote;
