-- name: dead_stages
-- Stages still marked running. The caller holds the source's lock, and every stage runs under
-- it, so whoever marked these running is gone: killed, crashed, or its database session lost.
SELECT s.id AS stage_id, s.job_id, s.name::text AS stage, s.locked_by AS worker,
       s.started_at, j.status AS job_status, j.raw_prefix
FROM pipeline.job_stages s
JOIN pipeline.jobs j ON j.id = s.job_id
WHERE j.slug = :slug AND s.status = 'running'
ORDER BY s.job_id;

-- name: idle_jobs
-- Jobs marked pending/running with no stage running and nothing done for :stale_hours: their
-- worker stopped between two stages and never came back (a stage's own worker never leaves
-- its job this long: the next stage follows at once, or the job waits in 'review').
SELECT j.id AS job_id, j.current_stage::text AS stage, last.at AS last_activity
FROM pipeline.jobs j
CROSS JOIN LATERAL (
    SELECT greatest(j.started_at, max(s.started_at), max(s.finished_at)) AS at
    FROM pipeline.job_stages s WHERE s.job_id = j.id) last
WHERE j.slug = :slug AND j.status IN ('pending', 'running')
  AND NOT EXISTS (SELECT 1 FROM pipeline.job_stages s
                  WHERE s.job_id = j.id AND s.status = 'running')
  AND coalesce(last.at, j.enqueued_at) < localtimestamp - make_interval(secs => CAST(:stale_hours AS float8) * 3600)
ORDER BY j.id;

-- name: fail_stage
UPDATE pipeline.job_stages
SET status = 'failed', finished_at = now(), message = :message, locked_by = NULL, locked_at = NULL
WHERE id = :stage_id AND status = 'running';

-- name: fail_job
-- Only a job still in flight: a superseded or cancelled one keeps its status.
UPDATE pipeline.jobs SET status = 'failed', error_message = :message, finished_at = now()
WHERE id = :job_id AND status IN ('pending', 'running');

-- name: registered_keys
SELECT file_path FROM pipeline.files WHERE file_path LIKE :prefix;

-- name: unfinished_slugs
SELECT DISTINCT slug FROM pipeline.jobs
WHERE status IN ('pending', 'running') AND slug IS NOT NULL ORDER BY slug;
