SELECT f.id, f.dmo_id, f.job_id, f.stage_name, f.file_path, f.import_id, f.file_seq,
       f.data_domain, f.country, f.state, f.file_date, f.batch, f.format, f.file_size,
       f.record_count, f.first_rec_num, f.file_hash, f.created_at
FROM pipeline.files f
WHERE f.id = :file_id;
