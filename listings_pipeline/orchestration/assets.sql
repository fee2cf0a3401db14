-- name: records_written
SELECT coalesce(sum(record_count), 0) FROM pipeline.files WHERE job_id = :job_id;

-- name: latest_promoted_jobs
-- Each source's latest job whose promotion completed: its listings are the ones whose images
-- are due (URLs already stored are skipped without a request).
SELECT DISTINCT ON (j.slug) j.id, j.slug FROM pipeline.jobs j
JOIN pipeline.job_stages p ON p.job_id = j.id AND p.name = 'promote' AND p.status = 'completed'
WHERE cardinality(CAST(:slugs AS text[])) = 0 OR j.slug = ANY(CAST(:slugs AS text[]))
ORDER BY j.slug, j.id DESC;
