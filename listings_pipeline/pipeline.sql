-- name: supersede_older
-- At the start of a transform, under the source's lock: the older unpromoted jobs' stage rows
-- are out of date from now on.
UPDATE pipeline.jobs SET status = 'superseded', finished_at = now(),
    error_message = 'superseded by job ' || :job_id || ', a newer import of the same source'
WHERE slug = :slug AND id < :job_id AND status IN ('running', 'review', 'pending')
RETURNING id;

-- name: stage_state
SELECT name::text AS name, status FROM pipeline.job_stages WHERE job_id = :job_id;

-- name: approved_rows
SELECT count(*) FROM stage.listings_flat WHERE job_id = :job_id AND ok_to_promote;

-- name: unchanged_of
SELECT unchanged_of FROM pipeline.jobs WHERE id = :job_id;

-- name: resumable_job
-- The latest job of the source, if its import completed and it did not finish.
SELECT j.id FROM pipeline.jobs j
JOIN pipeline.job_stages i ON i.job_id = j.id AND i.name = 'import' AND i.status = 'completed'
WHERE j.id = (SELECT max(id) FROM pipeline.jobs WHERE slug = :slug)
  AND j.status IN ('pending', 'running', 'review', 'failed');

-- name: batch_rows
-- The transform batch being staged (a temporary table of the batch's connection).
SELECT count(*) FROM batch_rows;

-- name: job_status
SELECT status FROM pipeline.jobs WHERE id = :job_id;

-- name: mark_superseded
UPDATE pipeline.jobs SET status = 'superseded', finished_at = now(),
    error_message = 'superseded by job ' || :newer || ', a newer import of the same source'
WHERE id = :job_id AND status IN ('pending', 'running', 'review', 'failed');
