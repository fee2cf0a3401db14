SELECT e.id, e.job_id, e.job_stages_id, s.name::TEXT AS stage, e.file_id, e.record_id,
       e.field_name, e.original_record, e.error_type, e.error_message, e.created_at
FROM pipeline.job_errors e
LEFT JOIN pipeline.job_stages s ON s.id = e.job_stages_id
WHERE e.job_id = :job_id
  AND (CAST(:error_type AS TEXT) IS NULL OR e.error_type = :error_type)
ORDER BY e.id
LIMIT :limit OFFSET :offset;
