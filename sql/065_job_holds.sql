-- Issue 15: job holds, a job-level reason to stop at the review gate that is not a stage row.
-- kind 'source_change': the source's shape changed against its previous completed import (a
-- mapped field missing or emptied, far fewer records); kind 'mass_change': the job would clear
-- values of, or delete, more than a configured share of the source's listings. Nothing of a
-- job with a pending (or rejected) hold is promoted. One row per finding: `subject` names it
-- (the field, or 'records', or 'listings') so a re-run of the transform updates its evidence
-- instead of adding a second hold, and keeps a decision already taken.
CREATE TABLE pipeline.job_holds (
    id          SERIAL PRIMARY KEY,
    job_id      INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,  -- source_change, mass_change (issue 20 adds a kind, not a table)
    subject     TEXT NOT NULL,
    evidence    JSONB NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected')),
    decided_by  TEXT,
    decided_at  TIMESTAMP,
    note        TEXT,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    UNIQUE (job_id, kind, subject)
);
CREATE INDEX idx_job_holds_pending ON pipeline.job_holds (job_id) WHERE status <> 'accepted';

-- Per job, how many of its records fill each stage column: the next job of the source compares
-- its own against its previous completed import's. `filled` is {stage column: records}.
CREATE TABLE pipeline.job_fill_stats (
    job_id   INT PRIMARY KEY REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    records  INT NOT NULL,
    filled   JSONB NOT NULL
);

-- Per stage row, the production fields its update would set to null (the mapping targets, e.g.
-- contact_info.email; collections by table). An automatic decision never does that: such a
-- row waits for a person (review_reason 'clears_values').
ALTER TABLE stage.listings_flat ADD COLUMN clears_fields TEXT[];

-- The target `field` when a production value (`had_value`) would be emptied (`now_empty`) and
-- a person did not edit it (`manual`: the row's manually_modified_fields, plain column names).
CREATE FUNCTION pipeline.cleared(field TEXT, had_value BOOLEAN, now_empty BOOLEAN, manual TEXT[])
RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN had_value AND now_empty
                     AND NOT coalesce(split_part(field, '.', 2) = ANY(manual), false)
                THEN field END
$$;
