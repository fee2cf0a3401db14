-- Newest first; each filter applies only when given (idx_pipeline_jobs_slug / _status).
SELECT j.id, j.dmo_id, d.name AS dmo_name, j.slug, j.config_id, j.config_version,
       j.dagster_run_id, j.input_path, j.current_stage::TEXT AS current_stage, j.status,
       j.error_message, j.triggered_by, j.trigger_type,
       j.records_total, j.records_new, j.records_updated, j.records_deleted,
       j.records_duplicates, j.records_unchanged, j.records_failed, j.records_warning,
       j.enqueued_at, j.started_at, j.finished_at,
       extract(epoch FROM coalesce(j.finished_at, CAST(now() AS TIMESTAMP)) - j.started_at)
           AS duration_seconds
FROM pipeline.jobs j
LEFT JOIN public.dmos d ON d.id = j.dmo_id
WHERE (CAST(:slug AS TEXT) IS NULL OR j.slug = :slug)
  AND (CAST(:status AS TEXT) IS NULL OR j.status = :status)
  AND (CAST(:dmo_id AS INT) IS NULL OR j.dmo_id = :dmo_id)
  AND (CAST(:dmo_ids AS INT[]) IS NULL OR j.dmo_id = ANY(CAST(:dmo_ids AS INT[])))
ORDER BY j.id DESC
LIMIT :limit OFFSET :offset;
