-- Issue 15: one run per source at a time, and a consistent catalogue per DMO.
-- The locks themselves are PostgreSQL session-level advisory locks held on a dedicated
-- connection (listings_pipeline/locks.py), so a killed worker releases them with its session.
-- This table only says who holds them, for the message a refused run shows; a row counts only
-- while its session still holds the advisory lock it names (joined with pg_locks), so rows a
-- dead worker left behind are ignored, then cleared by the next holder. UNLOGGED: nothing here
-- needs to survive a server crash, which releases every lock anyway.
CREATE UNLOGGED TABLE pipeline.lock_holders (
    backend_pid INT NOT NULL,            -- the holding session (pg_backend_pid())
    lock_name   TEXT NOT NULL,           -- 'source:<slug>' or 'catalogue:<dmo_id>'
    classid     BIGINT NOT NULL,         -- the advisory lock as pg_locks shows it
    objid       BIGINT NOT NULL,
    objsubid    INT NOT NULL,
    mode        TEXT NOT NULL,           -- exclusive | shared
    job_id      INT,
    stage       TEXT NOT NULL,           -- import, transform, promote, review, expiry, sweep...
    worker      TEXT NOT NULL,           -- host:pid of the process
    since       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (lock_name, backend_pid)
);

-- Where a job's import writes its raw files (the key prefix in the raw store), recorded before
-- the first byte is written: a worker killed mid-import leaves objects no pipeline.files row
-- names, and the sweep removes them by this prefix.
ALTER TABLE pipeline.jobs ADD COLUMN raw_prefix TEXT;
