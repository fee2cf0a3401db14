-- Geocoding results, "not found" included, keyed by the normalised address: an address is
-- sent to the provider once, whatever the retries, re-imports and sources (GUIDE invariant 7).
-- Transient provider failures are not stored, so they are tried again next time.

CREATE TABLE pipeline.geocode_cache (
    address_key   TEXT PRIMARY KEY,   -- transform.geocode.address_key(): normalised address
    query         TEXT NOT NULL,      -- what was sent to the provider
    found         BOOLEAN NOT NULL,
    lat           NUMERIC(10, 8),
    lng           NUMERIC(11, 8),
    provider      TEXT NOT NULL,
    display_name  TEXT,               -- the provider's name for the place it found
    created_at    TIMESTAMP NOT NULL DEFAULT now(),
    CONSTRAINT geocode_found_has_point CHECK (found = (lat IS NOT NULL AND lng IS NOT NULL))
);
