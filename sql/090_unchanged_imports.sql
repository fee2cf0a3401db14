-- Issue 19: an unchanged daily import is recognised by the content hash of its input.
--   input_hash             sha256 of the upload (file sources) or of the records fetched
--                          (other sources), recorded by every import;
--   transform_fingerprint  what a stage row depends on besides its record (config transform and
--                          validation settings, code, SQL, libraries: transform.stage);
--   unchanged_of           set when the input, the config version and the fingerprint equal
--                          those of the source's last completed job: the job whose raw files,
--                          stage rows and import errors stand for this job's records (always a
--                          job with stage rows of its own, never another unchanged job).
ALTER TABLE pipeline.jobs
    ADD COLUMN input_hash TEXT,
    ADD COLUMN transform_fingerprint TEXT,
    ADD COLUMN unchanged_of INT REFERENCES pipeline.jobs (id);
CREATE INDEX idx_pipeline_jobs_unchanged_of ON pipeline.jobs (unchanged_of)
    WHERE unchanged_of IS NOT NULL;
