-- Jobs a reviewer chose to cancel when the config changed (only those the dialog listed, and
-- only while they are still unfinished).
UPDATE pipeline.jobs
SET status = 'cancelled', finished_at = now(), error_message = :message
WHERE slug = :slug AND id = ANY(CAST(:ids AS INT[])) AND status IN ('pending', 'running', 'review')
RETURNING id;
