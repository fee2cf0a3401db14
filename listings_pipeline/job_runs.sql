-- name: job_created_by_run
SELECT id FROM pipeline.jobs WHERE dagster_run_id = :run_id ORDER BY id DESC LIMIT 1;

-- name: tagged_job
SELECT id FROM pipeline.jobs WHERE slug = :slug AND id = :job_id;

-- name: job_of_runs
SELECT id FROM pipeline.jobs WHERE slug = :slug AND dagster_run_id = ANY(:runs)
ORDER BY id DESC LIMIT 1;

-- name: latest_job
SELECT id FROM pipeline.jobs WHERE slug = :slug ORDER BY id DESC LIMIT 1;

-- name: waiting_jobs
-- Jobs stopped at the review gate (their import and transform done, not promoted, not
-- superseded or cancelled), newest first; pipeline.gate() says what each waits for.
SELECT id, slug FROM pipeline.jobs WHERE status = 'review'
  AND (CAST(:slug AS text) IS NULL OR slug = CAST(:slug AS text))
ORDER BY id DESC;

-- name: last_inputs
-- Files earlier jobs of the source imported, newest first (a backfill re-imports from them).
SELECT input_path FROM pipeline.jobs
WHERE slug = :slug AND input_path IS NOT NULL ORDER BY id DESC LIMIT 20;
