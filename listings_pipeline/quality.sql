-- name: transformed_jobs
-- Jobs whose transform completed after job :after, oldest first: records read by the import,
-- and records refused on the way (pipeline.job_errors: import and transform).
SELECT j.id, j.slug, j.status,
       coalesce((i.result_summary ->> 'total')::int, j.records_total) AS records_total,
       (SELECT count(*) FROM pipeline.job_errors e WHERE e.job_id = j.id) AS records_failed
FROM pipeline.jobs j
JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform' AND t.status = 'completed'
LEFT JOIN pipeline.job_stages i ON i.job_id = j.id AND i.name = 'import'
WHERE j.id > :after ORDER BY j.id LIMIT 200;

-- name: latest_job_id
SELECT coalesce(max(id), 0) FROM pipeline.jobs;
