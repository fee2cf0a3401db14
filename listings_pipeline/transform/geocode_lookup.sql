-- Cached results for a batch of address keys (one query per batch).
SELECT address_key, found, lat, lng
FROM pipeline.geocode_cache
WHERE address_key = ANY(CAST(:keys AS TEXT[]))
