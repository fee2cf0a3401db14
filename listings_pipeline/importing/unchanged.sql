-- An unchanged import (issue 19): the same input, config version and transform fingerprint as
-- the source's last completed job. See sql/090_unchanged_imports.sql.

-- name: unchanged_base
-- The job whose stage rows stand in for this one's records, if the input is unchanged: the
-- source's last completed job (or the job that one stood in for), while its rows are kept.
SELECT coalesce(p.unchanged_of, p.id) AS base
FROM pipeline.jobs j
CROSS JOIN LATERAL (
    SELECT p.* FROM pipeline.jobs p
    WHERE p.slug = j.slug AND p.id < j.id AND p.status = 'completed'
    ORDER BY p.id DESC LIMIT 1) p
JOIN pipeline.jobs b ON b.id = coalesce(p.unchanged_of, p.id)
WHERE j.id = :job_id AND p.input_hash = :input_hash
  AND p.transform_fingerprint = :fingerprint
  AND p.config_id IS NOT DISTINCT FROM j.config_id
  AND p.config_version IS NOT DISTINCT FROM j.config_version
  AND b.stage_pruned_at IS NULL
  -- every record of the base reached production as staged: a full transform would propose a
  -- row a reviewer rejected, or left waiting, again
  AND NOT EXISTS (SELECT 1 FROM stage.listings_flat s
                  WHERE s.job_id = b.id AND s.rec_num IS NOT NULL
                    AND s.change_kind IN ('insert', 'update', 'uncertain_match')
                    AND s.promote_status IS DISTINCT FROM 'succeeded')
  -- and nothing (a person, another config of the DMO) changed the DMO's catalogue since: the
  -- base's comparison with production still holds
  AND NOT EXISTS (SELECT 1 FROM pipeline.listing_history h
                  JOIN public.listing_info li ON li.listing_id = h.listing_id
                  WHERE li.dmo_id = j.dmo_id AND h.changed_at > p.finished_at);

-- name: record_input
UPDATE pipeline.jobs
SET input_hash = :input_hash, transform_fingerprint = :fingerprint, unchanged_of = :base
WHERE id = :job_id;

-- name: copy_import_errors
-- The same input gives the same import errors: they are the job's own again (conservation:
-- every record is a stand-in stage row or one of these).
INSERT INTO pipeline.job_errors (dmo_id, job_id, job_stages_id, file_id, record_id, field_name,
                                 original_record, error_type, error_message)
SELECT e.dmo_id, :job_id, s.id, e.file_id, e.record_id, e.field_name, e.original_record,
       e.error_type, e.error_message
FROM pipeline.job_errors e
JOIN pipeline.job_stages bs ON bs.id = e.job_stages_id AND bs.name = 'import'
JOIN pipeline.job_stages s ON s.job_id = :job_id AND s.name = 'import'
WHERE bs.job_id = :base
ORDER BY e.id;

-- name: base_import_counts
-- What the base job's import read: its records (raw files) and its import errors.
SELECT coalesce((SELECT sum(record_count) FROM pipeline.files
                 WHERE job_id = :base AND stage_name = 'import'), 0) AS written,
       (SELECT count(*) FROM pipeline.job_errors e
        JOIN pipeline.job_stages s ON s.id = e.job_stages_id AND s.name = 'import'
        WHERE s.job_id = :base) AS failed,
       coalesce((SELECT sum(file_size) FROM pipeline.files
                 WHERE job_id = :base AND stage_name = 'import'), 0) AS bytes_stored;
