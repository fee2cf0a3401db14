-- name: tagged_job
SELECT id FROM pipeline.jobs WHERE slug = :slug AND id = :job_id;

-- name: job_of_runs
SELECT id FROM pipeline.jobs WHERE slug = :slug AND dagster_run_id = ANY(:runs)
ORDER BY id DESC LIMIT 1;

-- name: latest_job
SELECT id FROM pipeline.jobs WHERE slug = :slug ORDER BY id DESC LIMIT 1;
