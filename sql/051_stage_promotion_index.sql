-- Promotion takes a job's pending rows batch by batch (promote.sql next_batch); without this
-- index every batch scans past the rows already promoted: quadratic in the job's size.
CREATE INDEX idx_stage_job_pending ON stage.listings_flat (job_id, id) WHERE promote_status = 'pending';
