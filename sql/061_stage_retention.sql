-- Issue 15: stage retention prunes the stage rows of old jobs (maintenance.retention); the job,
-- its stages, counts, errors, files and history stay, and the job says when its rows went.
ALTER TABLE pipeline.jobs ADD COLUMN stage_pruned_at TIMESTAMP;
