-- Production catalogue (seed 000 "Suggested Public Schema Updates").
-- Every table carries the seed's hash columns, manual-edit flags and audit fields.
-- manually_modified_fields lists the columns a person edited; the trigger in 004 fills it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE public.dmos (
    id          INT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at  TIMESTAMP NOT NULL DEFAULT now()
);

CREATE TABLE public.locations (
    id                        SERIAL PRIMARY KEY,
    address1                  TEXT,
    address2                  TEXT,
    region                    TEXT,
    city                      TEXT,
    state                     TEXT,
    zip                       TEXT,
    country                   CHAR(2),
    lat                       NUMERIC(10, 8),
    lng                       NUMERIC(11, 8),
    location_content_hash     CHAR(32),
    manually_modified         BOOLEAN NOT NULL DEFAULT false,
    manually_modified_fields  TEXT[] NOT NULL DEFAULT '{}',
    imported_from             TEXT,
    created_at                TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at               TIMESTAMP,
    promoted_by               TEXT
);

CREATE TABLE public.listings (
    id                        SERIAL PRIMARY KEY,
    name                      TEXT NOT NULL,
    google_place_id           TEXT,
    location_id               INT REFERENCES public.locations (id),
    listing_status            TEXT NOT NULL DEFAULT 'active',
    listing_visible           BOOLEAN NOT NULL DEFAULT true,
    listing_match_hash        CHAR(32),
    listing_content_hash      CHAR(32),
    attributes_content_hash   CHAR(32),
    manually_modified         BOOLEAN NOT NULL DEFAULT false,
    manually_modified_fields  TEXT[] NOT NULL DEFAULT '{}',
    imported_from             TEXT,
    created_at                TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at               TIMESTAMP,
    promoted_by               TEXT
);
CREATE INDEX idx_listings_match_hash ON public.listings (listing_match_hash);
CREATE INDEX idx_listings_name_trgm ON public.listings USING gin (name gin_trgm_ops);
CREATE INDEX idx_listings_location ON public.listings (location_id);

CREATE TABLE public.contact_info (
    id                          SERIAL PRIMARY KEY,
    name                        TEXT,
    email                       TEXT,
    local_phone                 TEXT,
    international_phone         TEXT,
    website_url                 TEXT,
    socials                     JSONB,
    contact_info_content_hash   CHAR(32),
    manually_modified           BOOLEAN NOT NULL DEFAULT false,
    manually_modified_fields    TEXT[] NOT NULL DEFAULT '{}',
    imported_from               TEXT,
    created_at                  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at                 TIMESTAMP,
    promoted_by                 TEXT
);

-- One listing_info per (listing, DMO): "only one source should map to a given listing_info_id".
CREATE TABLE public.listing_info (
    id                          SERIAL PRIMARY KEY,
    listing_id                  INT NOT NULL REFERENCES public.listings (id),
    dmo_id                      INT NOT NULL REFERENCES public.dmos (id),
    contact_info_id             INT REFERENCES public.contact_info (id),
    description                 TEXT,
    info_status                 TEXT NOT NULL DEFAULT 'active',
    info_visible                BOOLEAN NOT NULL DEFAULT true,
    listing_info_content_hash   CHAR(32),
    images_content_hash         CHAR(32),
    manually_modified           BOOLEAN NOT NULL DEFAULT false,
    manually_modified_fields    TEXT[] NOT NULL DEFAULT '{}',
    imported_from               TEXT,
    created_at                  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at                 TIMESTAMP,
    promoted_by                 TEXT,
    CONSTRAINT unique_listing_info_per_dmo UNIQUE (listing_id, dmo_id)
);
CREATE INDEX idx_listing_info_dmo ON public.listing_info (dmo_id);

CREATE TABLE public.listing_images (
    id               SERIAL PRIMARY KEY,
    listing_info_id  INT NOT NULL REFERENCES public.listing_info (id),
    image            TEXT NOT NULL,
    sort_order       INT NOT NULL DEFAULT 0,
    imported_from    TEXT,
    created_at       TIMESTAMP NOT NULL DEFAULT now(),
    updated_at       TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at      TIMESTAMP,
    promoted_by      TEXT
);
CREATE INDEX idx_listing_images_info ON public.listing_images (listing_info_id);

-- The seed keeps the collection hash on every row of the collection.
CREATE TABLE public.opening_dates (
    id                          SERIAL PRIMARY KEY,
    listing_info_id             INT NOT NULL REFERENCES public.listing_info (id),
    start_date                  DATE,
    end_date                    DATE,
    opening_dates_content_hash  CHAR(32),
    imported_from               TEXT,
    created_at                  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at                 TIMESTAMP,
    promoted_by                 TEXT
);
CREATE INDEX idx_opening_dates_info ON public.opening_dates (listing_info_id);

-- day_id: 1 = Monday … 7 = Sunday. Weekly hours without a date range have no opening_date_id.
CREATE TABLE public.opening_hours (
    id                          SERIAL PRIMARY KEY,
    listing_info_id             INT NOT NULL REFERENCES public.listing_info (id),
    opening_date_id             INT REFERENCES public.opening_dates (id) ON DELETE SET NULL,
    day_id                      SMALLINT NOT NULL CHECK (day_id BETWEEN 1 AND 7),
    open_time                   TIME,
    close_time                  TIME,
    opening_hours_content_hash  CHAR(32),
    imported_from               TEXT,
    created_at                  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at                 TIMESTAMP,
    promoted_by                 TEXT
);
CREATE INDEX idx_opening_hours_info ON public.opening_hours (listing_info_id);

-- Attribute names are compared case-insensitively ("Tours" = "tours").
CREATE TABLE public.attributes (
    id          SERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX idx_attributes_name ON public.attributes (lower(name));

CREATE TABLE public.bridge_attributes_listings (
    listing_id     INT NOT NULL REFERENCES public.listings (id),
    attribute_id   INT NOT NULL REFERENCES public.attributes (id),
    imported_from  TEXT,
    created_at     TIMESTAMP NOT NULL DEFAULT now(),
    promoted_at    TIMESTAMP,
    promoted_by    TEXT,
    PRIMARY KEY (listing_id, attribute_id)
);
