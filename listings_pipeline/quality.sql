-- name: transformed_jobs
-- Jobs whose transform completed after job :after, oldest first, with their record counts.
SELECT j.id, j.slug, j.status, j.records_total, j.records_failed
FROM pipeline.jobs j
JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform' AND t.status = 'completed'
WHERE j.id > :after ORDER BY j.id LIMIT 200;

-- name: latest_job_id
SELECT coalesce(max(id), 0) FROM pipeline.jobs;
