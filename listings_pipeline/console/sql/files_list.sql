SELECT f.id, f.dmo_id, f.job_id, f.stage_name, f.file_path, f.import_id, f.file_seq,
       f.data_domain, f.country, f.state, f.file_date, f.batch, f.format, f.file_size,
       f.record_count, f.first_rec_num, f.file_hash, f.created_at
FROM pipeline.files f
WHERE (CAST(:job_id AS INT) IS NULL OR f.job_id = :job_id)
  AND (CAST(:dmo_id AS INT) IS NULL OR f.dmo_id = :dmo_id)
  AND (CAST(:dmo_ids AS INT[]) IS NULL OR f.dmo_id = ANY(CAST(:dmo_ids AS INT[])))
ORDER BY f.job_id DESC NULLS LAST, f.stage_name, f.file_seq, f.id
LIMIT :limit OFFSET :offset;
