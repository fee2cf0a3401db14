-- Pipeline bookkeeping (seed 000 "suggested Pipeline Schema table design"), with:
--   configs.slug (the Dagster partition key) and config_hash (version bumps on change);
--   jobs.config_id/config_version/slug/dagster_run_id/error_message to tie a job to its run;
--   job_errors.stage_name/field_name so a message can name the record and the field.

CREATE TYPE pipeline.target_type AS ENUM ('listings', 'listing_info');
CREATE TYPE pipeline.pipeline_stage AS ENUM
    ('import', 'transform', 'validate', 'stage', 'review', 'promote');

CREATE TABLE pipeline.bridge_source_target (
    id               SERIAL PRIMARY KEY,
    dmo_id           INT NOT NULL REFERENCES public.dmos (id),
    source_id        TEXT NOT NULL,
    target_id        INT,
    target_type      pipeline.target_type NOT NULL,
    certainty_score  NUMERIC(5, 4) DEFAULT 1.0,
    match_method     TEXT,
    mapped_at        TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    created_at       TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_dmo_source_target UNIQUE (dmo_id, source_id, target_type)
);
CREATE INDEX idx_bridge_source ON pipeline.bridge_source_target (source_id, target_type);
CREATE INDEX idx_bridge_target ON pipeline.bridge_source_target (target_id, target_type);

CREATE TABLE pipeline.configs (
    id                SERIAL PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    dmo_id            INT NOT NULL REFERENCES public.dmos (id),
    name              TEXT NOT NULL,
    data_domain       TEXT NOT NULL,
    source_type       TEXT NOT NULL,
    source_url        TEXT,
    schedule          TEXT,
    config            JSONB NOT NULL,
    field_mappings    JSONB NOT NULL,
    validation_rules  JSONB NOT NULL,
    config_hash       CHAR(32) NOT NULL,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    version           INT DEFAULT 1,
    created_at        TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at        TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_dmo_source_name UNIQUE (dmo_id, name)
);

CREATE TABLE pipeline.jobs (
    id                  SERIAL PRIMARY KEY,
    dmo_id              INT NOT NULL REFERENCES public.dmos (id),
    config_id           INT REFERENCES pipeline.configs (id),
    config_version      INT,
    slug                TEXT,
    dagster_run_id      TEXT,
    input_path          TEXT,
    current_stage       pipeline.pipeline_stage NOT NULL,
    status              TEXT DEFAULT 'pending', -- pending, running, review, completed, failed, cancelled, superseded
    error_message       TEXT,
    triggered_by        TEXT,
    trigger_type        TEXT, -- manual / schedule / sensor / system
    records_total       INT DEFAULT 0,
    records_new         INT DEFAULT 0,
    records_updated     INT DEFAULT 0,
    records_deleted     INT DEFAULT 0,
    records_duplicates  INT DEFAULT 0,
    records_unchanged   INT DEFAULT 0,
    records_failed      INT DEFAULT 0,
    records_warning     INT DEFAULT 0,
    enqueued_at         TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    started_at          TIMESTAMP,
    finished_at         TIMESTAMP
);
CREATE INDEX idx_pipeline_jobs_dmo_id ON pipeline.jobs (dmo_id);
CREATE INDEX idx_pipeline_jobs_slug ON pipeline.jobs (slug, id DESC);

CREATE TABLE pipeline.job_stages (
    id               SERIAL PRIMARY KEY,
    dmo_id           INT NOT NULL REFERENCES public.dmos (id),
    job_id           INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    name             pipeline.pipeline_stage NOT NULL,
    order_index      INT NOT NULL,
    status           TEXT DEFAULT 'pending',
    attempt_count    INT DEFAULT 0,
    retry_count      INT DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    locked_by        TEXT,
    locked_at        TIMESTAMP,
    message          TEXT,
    result_summary   JSONB,
    enqueued_at      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    CONSTRAINT unique_job_stage UNIQUE (job_id, name)
);
CREATE INDEX idx_pipeline_job_stages_job_id ON pipeline.job_stages (job_id);

CREATE TABLE pipeline.config_snapshots (
    id                SERIAL PRIMARY KEY,
    configs_id        INT NOT NULL REFERENCES pipeline.configs (id),
    dmo_id            INT NOT NULL REFERENCES public.dmos (id),
    job_id            INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    data_domain       TEXT NOT NULL,
    source_type       TEXT NOT NULL,
    source_url        TEXT,
    schedule          TEXT,
    config            JSONB NOT NULL,
    field_mappings    JSONB NOT NULL,
    validation_rules  JSONB NOT NULL,
    version           INT DEFAULT 1,
    created_at        TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_snapshot_per_job UNIQUE (job_id)
);

CREATE TABLE pipeline.files (
    id            SERIAL PRIMARY KEY,
    dmo_id        INT NOT NULL REFERENCES public.dmos (id),
    job_id        INT NULL REFERENCES pipeline.jobs (id),
    stage_name    TEXT NOT NULL,
    file_path     TEXT NOT NULL,
    import_id     TEXT NOT NULL,
    file_seq      INT NOT NULL,
    data_domain   TEXT NOT NULL,
    country       VARCHAR(2),
    state         VARCHAR(2),
    file_date     DATE,
    batch         INT GENERATED ALWAYS AS IDENTITY,
    format        TEXT,
    file_size     BIGINT,
    record_count  INT,
    first_rec_num INT,
    file_hash     VARCHAR(32),
    created_at    TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_pipeline_files_job_id ON pipeline.files (job_id);

CREATE TABLE pipeline.stage_results (
    id                  SERIAL PRIMARY KEY,
    dmo_id              INT NOT NULL REFERENCES public.dmos (id),
    job_id              INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    job_stages_id       INT NOT NULL REFERENCES pipeline.job_stages (id),
    status              TEXT NOT NULL,
    records_total       INT DEFAULT 0,
    records_new         INT DEFAULT 0,
    records_updated     INT DEFAULT 0,
    records_deleted     INT DEFAULT 0,
    records_duplicates  INT DEFAULT 0,
    records_unchanged   INT DEFAULT 0,
    records_failed      INT DEFAULT 0,
    records_warning     INT DEFAULT 0,
    started_at          TIMESTAMP NULL,
    finished_at         TIMESTAMP NULL,
    CONSTRAINT unique_stage_result UNIQUE (job_stages_id)
);

CREATE TABLE pipeline.job_errors (
    id               SERIAL PRIMARY KEY,
    dmo_id           INT NOT NULL REFERENCES public.dmos (id),
    job_id           INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    job_stages_id    INT NOT NULL REFERENCES pipeline.job_stages (id),
    file_id          INT REFERENCES pipeline.files (id),
    record_id        VARCHAR,
    field_name       TEXT,
    original_record  JSONB,
    error_type       TEXT,
    error_message    TEXT,
    created_at       TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_pipeline_job_errors_job ON pipeline.job_errors (job_id);
