-- name: records_written
SELECT coalesce(sum(record_count), 0) FROM pipeline.files WHERE job_id = :job_id;

-- name: latest_promoted_job
-- The source's latest job whose promotion completed: its listings are the ones whose images
-- are due.
SELECT j.id FROM pipeline.jobs j
JOIN pipeline.job_stages p ON p.job_id = j.id AND p.name = 'promote' AND p.status = 'completed'
WHERE j.slug = :slug ORDER BY j.id DESC LIMIT 1;
