-- name: insert_job
INSERT INTO pipeline.jobs (dmo_id, config_id, config_version, slug, dagster_run_id, input_path,
                           current_stage, status, triggered_by, trigger_type, started_at)
VALUES (:dmo_id, :config_id, :config_version, :slug, :dagster_run_id, :input_path,
        'import', 'running', :triggered_by, :trigger_type, now())
RETURNING id;

-- name: insert_stages
INSERT INTO pipeline.job_stages (dmo_id, job_id, name, order_index)
SELECT :dmo_id, :job_id, s.name::pipeline.pipeline_stage, s.ord
FROM unnest(ARRAY['import', 'transform', 'review', 'promote']) WITH ORDINALITY AS s(name, ord);

-- name: insert_snapshot
INSERT INTO pipeline.config_snapshots (configs_id, dmo_id, job_id, name, data_domain, source_type,
    source_url, schedule, config, field_mappings, validation_rules, version)
SELECT id, dmo_id, :job_id, name, data_domain, source_type, source_url, schedule, config,
       field_mappings, validation_rules, version
FROM pipeline.configs WHERE id = :config_id;

-- name: start_stage
UPDATE pipeline.job_stages
SET status = 'running', attempt_count = attempt_count + 1,
    retry_count = CASE WHEN attempt_count > 0 THEN retry_count + 1 ELSE retry_count END,
    started_at = now(), finished_at = NULL, message = NULL, locked_by = :worker, locked_at = now()
WHERE job_id = :job_id AND name = :stage
RETURNING id;

-- name: set_job_stage
UPDATE pipeline.jobs SET current_stage = :stage, status = :status,
    error_message = CASE WHEN :status = 'failed' THEN error_message ELSE NULL END
WHERE id = :job_id;

-- name: finish_stage
UPDATE pipeline.job_stages
SET status = :status, finished_at = now(), message = :message,
    result_summary = CAST(:summary AS JSONB), locked_by = NULL, locked_at = NULL
WHERE job_id = :job_id AND name = :stage
RETURNING id, dmo_id, started_at;

-- name: upsert_stage_result
INSERT INTO pipeline.stage_results (dmo_id, job_id, job_stages_id, status, records_total,
    records_new, records_updated, records_deleted, records_duplicates, records_unchanged,
    records_failed, records_warning, started_at, finished_at)
VALUES (:dmo_id, :job_id, :job_stages_id, :status, :total, :new, :updated, :deleted,
        :duplicates, :unchanged, :failed, :warning, :started_at, now())
ON CONFLICT (job_stages_id) DO UPDATE SET
    status = EXCLUDED.status, records_total = EXCLUDED.records_total,
    records_new = EXCLUDED.records_new, records_updated = EXCLUDED.records_updated,
    records_deleted = EXCLUDED.records_deleted, records_duplicates = EXCLUDED.records_duplicates,
    records_unchanged = EXCLUDED.records_unchanged, records_failed = EXCLUDED.records_failed,
    records_warning = EXCLUDED.records_warning, started_at = EXCLUDED.started_at,
    finished_at = EXCLUDED.finished_at;

-- name: update_job_counts
UPDATE pipeline.jobs SET records_total = :total, records_new = :new, records_updated = :updated,
    records_deleted = :deleted, records_duplicates = :duplicates,
    records_unchanged = :unchanged, records_failed = :failed, records_warning = :warning
WHERE id = :job_id;

-- name: fail_job
UPDATE pipeline.jobs SET status = 'failed', error_message = :message, finished_at = now()
WHERE id = :job_id;

-- name: finish_job
UPDATE pipeline.jobs SET status = :status, finished_at = now() WHERE id = :job_id;

-- name: insert_error
INSERT INTO pipeline.job_errors (dmo_id, job_id, job_stages_id, file_id, record_id, field_name,
                                 original_record, error_type, error_message)
SELECT dmo_id, job_id, id, :file_id, :record_id, :field_name, CAST(:original AS JSONB),
       :error_type, :message
FROM pipeline.job_stages WHERE job_id = :job_id AND name = :stage;

-- name: get_job
SELECT j.*, c.slug AS config_slug
FROM pipeline.jobs j LEFT JOIN pipeline.configs c ON c.id = j.config_id
WHERE j.id = :job_id;

-- name: latest_job
SELECT id FROM pipeline.jobs WHERE slug = :slug ORDER BY id DESC LIMIT 1;

-- name: stage_status
SELECT name::text AS name, status, message, result_summary
FROM pipeline.job_stages WHERE job_id = :job_id ORDER BY order_index;
