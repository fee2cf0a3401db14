-- name: actions_by_target
-- What the job does to each production table: one row per (table, action).
SELECT t.target, t.action, count(*) AS n
FROM stage.listings_flat AS s
CROSS JOIN LATERAL (VALUES
    ('listings', s.listing_action), ('listing_info', s.listing_info_action),
    ('locations', s.location_action), ('contact_info', s.contact_info_action),
    ('listing_images', s.images_action), ('opening_dates', s.opening_dates_action),
    ('opening_hours', s.opening_hours_action), ('attributes', s.attributes_action)
) AS t(target, action)
WHERE s.job_id = :job_id
GROUP BY t.target, t.action;

-- name: review_status_counts
SELECT review_status AS status, count(*) AS n
FROM stage.listings_flat WHERE job_id = :job_id GROUP BY 1 ORDER BY 1;

-- name: stage_errors
SELECT e.record_id, e.field_name, e.error_type, e.error_message
FROM pipeline.job_errors AS e JOIN pipeline.job_stages AS s ON s.id = e.job_stages_id
WHERE e.job_id = :job_id AND s.name = CAST(:stage AS pipeline.pipeline_stage)
ORDER BY e.id LIMIT :limit;

-- name: stage_error_types
SELECT coalesce(e.error_type, 'other') AS error_type, count(*) AS n
FROM pipeline.job_errors AS e JOIN pipeline.job_stages AS s ON s.id = e.job_stages_id
WHERE e.job_id = :job_id AND s.name = CAST(:stage AS pipeline.pipeline_stage)
GROUP BY 1 ORDER BY 2 DESC, 1;

-- name: rows_with_issues
-- First rows with validation errors or warnings, as a reviewer would look them up.
SELECT id, rec_num, source_id, listing_name, change_kind, validation_errors, validation_warnings
FROM stage.listings_flat
WHERE job_id = :job_id AND (validation_errors IS NOT NULL OR validation_warnings IS NOT NULL)
ORDER BY id LIMIT :limit;

-- name: stage_summary
-- What a completed stage recorded (its counts), for runs that resume after it.
SELECT status, result_summary, extract(epoch FROM finished_at - started_at) AS seconds
FROM pipeline.job_stages WHERE job_id = :job_id AND name = CAST(:stage AS pipeline.pipeline_stage);

-- name: job_files
SELECT file_seq, record_count, file_size, file_path, file_hash
FROM pipeline.files WHERE job_id = :job_id ORDER BY file_seq;

-- name: failed_images
SELECT listing_info_id, source_url, error_reason, error_message
FROM pipeline.image_assets WHERE job_id = :job_id AND status = 'failed'
ORDER BY id LIMIT :limit;
