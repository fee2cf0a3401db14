-- Deletion detection asks, for every listing_info of the DMO, whether this job staged a row
-- for it; without this index each probe scans the job's rows (quadratic in the job's size).
CREATE INDEX idx_stage_job_listing_info ON stage.listings_flat (job_id, listing_info_internal_id);
