-- Provider results of a batch, "not found" included, in one statement. A concurrent job may
-- have stored the same address meanwhile: the first answer stays.
INSERT INTO pipeline.geocode_cache (address_key, query, found, lat, lng, provider, display_name)
SELECT r.address_key, r.query, r.found, r.lat, r.lng, :provider, r.display_name
FROM unnest(CAST(:keys AS TEXT[]), CAST(:queries AS TEXT[]), CAST(:found AS BOOLEAN[]),
            CAST(:lats AS NUMERIC[]), CAST(:lngs AS NUMERIC[]), CAST(:names AS TEXT[]))
     AS r(address_key, query, found, lat, lng, display_name)
ON CONFLICT (address_key) DO NOTHING
