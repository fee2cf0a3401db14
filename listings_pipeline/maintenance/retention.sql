-- name: prunable_jobs
-- Jobs whose stage rows may go: none of those kept below, and still having rows.
WITH kept_jobs AS (
    -- unfinished: still running, or waiting for review
    SELECT id FROM pipeline.jobs WHERE status IN ('pending', 'running', 'review')
    UNION ALL
    -- each source's latest job (a failed one resumes from its stage rows)
    SELECT max(id) FROM pipeline.jobs GROUP BY slug
    UNION ALL
    -- each source's latest job whose transform completed: the next import reuses its rows for
    -- unchanged records (transform/stage.sql previous_job, reusable_rows)
    SELECT max(j.id) FROM pipeline.jobs j
    JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform' AND t.status = 'completed'
    GROUP BY j.slug
    UNION ALL
    -- each source's last completed (promoted) job
    SELECT max(id) FROM pipeline.jobs WHERE status = 'completed' GROUP BY slug
    UNION ALL
    -- and every job of the last :keep_days days
    SELECT id FROM pipeline.jobs
    WHERE coalesce(finished_at, started_at, enqueued_at)
          >= localtimestamp - make_interval(days => CAST(:keep_days AS int))
), kept AS (
    SELECT id FROM kept_jobs
    UNION ALL
    -- the base of a kept unchanged job: its rows stand in for that job's records
    -- (importing/unchanged.py)
    SELECT j.unchanged_of FROM pipeline.jobs j JOIN kept_jobs k ON k.id = j.id
    WHERE j.unchanged_of IS NOT NULL
)
SELECT j.id AS job_id, j.slug, j.status,
       coalesce(j.finished_at, j.started_at, j.enqueued_at) AS finished_at
FROM pipeline.jobs j
WHERE NOT EXISTS (SELECT 1 FROM kept k WHERE k.id = j.id)
  AND EXISTS (SELECT 1 FROM stage.listings_flat s WHERE s.job_id = j.id)
ORDER BY j.id;

-- name: job_rows
SELECT job_id, count(*) AS n FROM stage.listings_flat
WHERE job_id = ANY(CAST(:job_ids AS INT[])) GROUP BY job_id;

-- name: delete_batch
-- One short transaction per batch: row locks on old rows only, nothing an import waits for.
DELETE FROM stage.listings_flat
WHERE id IN (SELECT id FROM stage.listings_flat WHERE job_id = :job_id LIMIT :batch_rows);

-- name: mark_pruned
UPDATE pipeline.jobs SET stage_pruned_at = now() WHERE id = :job_id;
