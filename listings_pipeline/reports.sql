-- name: job_summary
SELECT j.id, j.slug, j.status, j.current_stage::text AS current_stage, j.error_message,
       j.records_total, j.records_new, j.records_updated, j.records_deleted,
       j.records_duplicates, j.records_unchanged, j.records_failed, j.records_warning,
       j.dagster_run_id, j.unchanged_of
FROM pipeline.jobs j WHERE j.id = :job_id;

-- name: kinds
SELECT coalesce(change_kind, 'pending') AS kind, count(*) AS n
FROM stage.listings_flat WHERE job_id = :job_id GROUP BY 1 ORDER BY 1;

-- name: matched
SELECT count(*) FROM stage.listings_flat
WHERE job_id = :job_id AND match_method IN ('match_hash', 'fuzzy');

-- name: errors
SELECT s.name::text AS stage, e.record_id, e.field_name, e.error_type, e.error_message
FROM pipeline.job_errors e JOIN pipeline.job_stages s ON s.id = e.job_stages_id
WHERE e.job_id = :job_id ORDER BY e.id LIMIT :limit;

-- name: error_count
SELECT count(*) FROM pipeline.job_errors WHERE job_id = :job_id;
