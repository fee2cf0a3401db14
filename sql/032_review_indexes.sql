-- Review pages (console): every tab pages through one kind of change of one job in id order,
-- so each page is an index range scan however large the job.
CREATE INDEX idx_stage_job_kind_id ON stage.listings_flat (job_id, change_kind, id);
-- The Matches tab: suggested matches and rows matched to a listing of another source.
CREATE INDEX idx_stage_job_matched ON stage.listings_flat (job_id, id)
    WHERE change_kind = 'uncertain_match' OR match_method IN ('match_hash', 'fuzzy');
