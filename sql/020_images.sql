-- Processed listing images (issue 9): one row per image URL of a listing_info, whatever happened
-- to it, so a re-run can skip what is already stored and a person can see why one is missing.
--
-- Lives in `pipeline`, not `public`: it is processing state (status, attempts, errors) written
-- by the image step, not catalogue content written by promotion under the seed's hash/audit rules.
-- Keyed by (listing_info_id, source_url), not by public.listing_images.id: promotion may replace
-- listing_images rows when a listing's images change, and an unchanged URL must still be
-- recognised. listing_image_id is the row last seen with this URL (informational, no FK).
-- Consumers join: listing_images li JOIN pipeline.image_assets a
--   ON a.listing_info_id = li.listing_info_id AND a.source_url = li.image AND a.status = 'stored'.

CREATE TABLE pipeline.image_assets (
    id                BIGSERIAL PRIMARY KEY,
    listing_info_id   INT NOT NULL REFERENCES public.listing_info (id),
    listing_id        INT NOT NULL,
    dmo_id            INT NOT NULL,
    listing_image_id  INT,
    source_url        TEXT NOT NULL,
    content_hash      CHAR(64),   -- sha256 hex of the downloaded bytes
    -- {"web": {"max_side": 1600, "width": .., "height": ..,
    --          "files": {"webp": {"key": "1/2/<hash>-web.webp", "uri": .., "bytes": ..}, ...}}, ...}
    variants          JSONB NOT NULL DEFAULT '{}',
    width             INT,        -- of the original, after EXIF orientation
    height            INT,
    bytes             BIGINT,     -- of the original download
    format            TEXT,       -- of the original: JPEG, PNG, WEBP, GIF
    -- stored: variants are in the image store; failed: download or decoding failed (retried on a
    -- later run until attempts reaches the configured maximum); skipped: not attempted because the
    -- URL itself is unusable (not http/https, no host).
    status            TEXT NOT NULL CHECK (status IN ('stored', 'skipped', 'failed')),
    error_reason      TEXT,       -- short code: not_an_image, too_large, blocked_address, ...
    error_message     TEXT,
    attempts          INT NOT NULL DEFAULT 0,  -- runs that downloaded (or tried to) this URL
    job_id            INT,        -- pipeline.jobs id of the last run that processed it, if any
    processed_at      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL DEFAULT now(),
    updated_at        TIMESTAMP NOT NULL DEFAULT now(),
    CONSTRAINT unique_image_per_listing_info UNIQUE (listing_info_id, source_url)
);
CREATE INDEX idx_image_assets_failed ON pipeline.image_assets (error_reason)
    WHERE status <> 'stored';
