-- Last job of each slug for the config list (idx_pipeline_jobs_slug).
SELECT DISTINCT ON (slug) slug, id, status, current_stage::TEXT AS current_stage, enqueued_at
FROM pipeline.jobs
WHERE slug = ANY(CAST(:slugs AS TEXT[]))
ORDER BY slug, id DESC;
