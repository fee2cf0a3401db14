-- name: register_file
INSERT INTO pipeline.files (dmo_id, job_id, stage_name, file_path, import_id, file_seq, data_domain,
                            file_date, format, file_size, record_count, first_rec_num, file_hash)
VALUES (:dmo_id, :job_id, 'import', :file_path, :import_id, :file_seq, :data_domain,
        :file_date, 'jsonl.gz', :file_size, :record_count, :first_rec_num, :file_hash);

-- name: job_files
SELECT id, file_path, file_seq, record_count, first_rec_num
FROM pipeline.files WHERE job_id = :job_id AND stage_name = 'import' ORDER BY file_seq;

-- name: clear_import_errors
DELETE FROM pipeline.job_errors e USING pipeline.job_stages s
WHERE e.job_stages_id = s.id AND s.job_id = :job_id AND s.name = 'import';

-- name: registered_keys
SELECT file_path FROM pipeline.files WHERE file_path LIKE :prefix;

-- name: record_prefix
UPDATE pipeline.jobs SET raw_prefix = :prefix WHERE id = :job_id;
