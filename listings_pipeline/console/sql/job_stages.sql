SELECT s.id, s.name::TEXT AS name, s.order_index, s.status, s.attempt_count, s.retry_count,
       s.next_attempt_at, s.locked_by, s.message, s.result_summary,
       s.enqueued_at, s.started_at, s.finished_at,
       extract(epoch FROM coalesce(s.finished_at, CAST(now() AS TIMESTAMP)) - s.started_at)
           AS duration_seconds,
       r.records_total, r.records_new, r.records_updated, r.records_deleted,
       r.records_duplicates, r.records_unchanged, r.records_failed, r.records_warning
FROM pipeline.job_stages s
LEFT JOIN pipeline.stage_results r ON r.job_stages_id = s.id
WHERE s.job_id = :job_id
ORDER BY s.order_index, s.id;
