-- Stage table (seed 000 "Suggesting Staging Schema"): the single source of truth for review
-- and promotion. The seed's columns keep their names; added here:
--   job_id / rec_num / file_id       which import produced the row (rows of every job are kept);
--   *_internal_id                    production ids the lookup found;
--   match_method / match_score / match_candidate_id   how the listing was matched;
--   duplicate_of                     the primary stage row of a duplicate source_id;
--   ok_to_promote / review_*         the review gate; force_overwrite = reviewer overrode manual edits;
--   listing/info status+visibility, original lat/lng, warnings, promotion outcome.
-- The seed's UNIQUE (dmo_id, source_id) cannot hold once rows of several jobs and in-job
-- duplicates are kept, so uniqueness is per (job_id, rec_num) instead.

CREATE SCHEMA IF NOT EXISTS stage;

CREATE TABLE stage.listings_flat (
    id                          SERIAL NOT NULL PRIMARY KEY,
    job_id                      INT NOT NULL REFERENCES pipeline.jobs (id) ON DELETE CASCADE,
    rec_num                     INT,
    file_id                     INT REFERENCES pipeline.files (id),

    dmo_id                      INTEGER NOT NULL,
    source_id                   TEXT NOT NULL,
    source_url                  TEXT,
    source_identifier           TEXT,
    created_at                  TIMESTAMP WITHOUT TIME ZONE DEFAULT NOW(),
    updated_at                  TIMESTAMP WITHOUT TIME ZONE DEFAULT NOW(),
    imported_from               TEXT,

    listing_internal_id         INTEGER,
    listing_info_internal_id    INTEGER,
    location_internal_id        INTEGER,
    contact_info_internal_id    INTEGER,
    match_method                TEXT,        -- bridge, match_hash, fuzzy, suggested, none
    match_score                 NUMERIC(5, 4),
    match_candidate_id          INTEGER,     -- listing suggested for review (uncertain match)
    duplicate_of                INTEGER,     -- stage id of the primary row with the same source_id

    listing_match_hash          CHAR(32),
    listing_content_hash        CHAR(32),
    location_content_hash       CHAR(32),
    attributes_content_hash     CHAR(32),
    listing_info_content_hash   CHAR(32),
    contact_info_content_hash   CHAR(32),
    images_content_hash         CHAR(32),
    opening_dates_content_hash  CHAR(32),
    opening_hours_content_hash  CHAR(32),

    promote_status              VARCHAR DEFAULT 'pending', -- pending, skipped, succeeded, failed
    promote_error               TEXT,
    promoted_at                 TIMESTAMP,
    quality_score               NUMERIC(5, 2),
    manual_review_required      BOOLEAN DEFAULT FALSE,
    validation_errors           TEXT,
    validation_warnings         TEXT,

    ok_to_promote               BOOLEAN NOT NULL DEFAULT FALSE,
    manually_modified           BOOLEAN NOT NULL DEFAULT FALSE,
    force_overwrite             BOOLEAN NOT NULL DEFAULT FALSE,
    change_kind                 TEXT,        -- insert, update, skip, delete, duplicate, error, uncertain_match
    review_status               TEXT NOT NULL DEFAULT 'pending', -- auto_approved, pending, approved, rejected
    review_reason               TEXT,        -- why a person must decide (the change_kind that needs one)
    reviewed_by                 TEXT,
    reviewed_at                 TIMESTAMP,
    review_note                 TEXT,

    listing_action              VARCHAR(16) DEFAULT 'pending', -- pending, skip, insert, update, delete, error
    listing_info_action         VARCHAR(16) DEFAULT 'pending',
    location_action             VARCHAR(16) DEFAULT 'pending',
    contact_info_action         VARCHAR(16) DEFAULT 'pending',
    images_action               VARCHAR(16) DEFAULT 'pending',
    opening_dates_action        VARCHAR(16) DEFAULT 'pending',
    opening_hours_action        VARCHAR(16) DEFAULT 'pending',
    attributes_action           VARCHAR(16) DEFAULT 'pending',

    listing_name                VARCHAR,
    listing_google_place_id     VARCHAR,
    listing_status              TEXT,
    listing_visible             BOOLEAN,
    listing_info_description    TEXT,
    info_status                 TEXT,
    info_visible                BOOLEAN,
    loc_address1                VARCHAR,
    loc_address2                VARCHAR,
    loc_region                  VARCHAR,
    loc_city                    VARCHAR,
    loc_state                   VARCHAR,
    loc_zip                     VARCHAR,
    loc_country                 CHAR(2),
    loc_lat                     NUMERIC(10, 8),
    loc_lng                     NUMERIC(11, 8),
    loc_lat_original            NUMERIC,
    loc_lng_original            NUMERIC,
    ci_name                     VARCHAR,
    ci_email                    VARCHAR,
    ci_local_phone              VARCHAR,
    ci_international_phone      VARCHAR,
    ci_created_at               TIMESTAMP WITHOUT TIME ZONE,
    ci_updated_at               TIMESTAMP WITHOUT TIME ZONE,
    ci_website_url              VARCHAR,
    ci_socials                  JSONB,
    images                      JSONB,
    dates                       JSONB,
    hours                       JSONB,
    attributes                  JSONB
);

CREATE UNIQUE INDEX idx_stage_job_rec ON stage.listings_flat (job_id, rec_num);
CREATE INDEX idx_stage_job_source ON stage.listings_flat (job_id, dmo_id, source_id);
CREATE INDEX idx_stage_listing_internal ON stage.listings_flat (listing_internal_id);
CREATE INDEX idx_stage_job_review ON stage.listings_flat (job_id, review_status, change_kind);
