-- Jobs a config change could affect: not yet finished one way or another.
SELECT id, status, current_stage::TEXT AS current_stage, enqueued_at
FROM pipeline.jobs
WHERE slug = :slug AND status IN ('pending', 'running', 'review')
ORDER BY id DESC;
