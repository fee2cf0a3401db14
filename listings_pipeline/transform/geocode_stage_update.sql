-- Coordinates and geocoding warnings for a page of stage rows, in one statement. A warning
-- already recorded (a retried job) is not added twice. A geocoded row is no longer the record's
-- alone: no reuse by a later import.
UPDATE stage.listings_flat AS s
SET record_hash = NULL,
    loc_lat = coalesce(v.lat, s.loc_lat),
    loc_lng = coalesce(v.lng, s.loc_lng),
    validation_warnings = CASE
        WHEN v.warning IS NULL OR strpos(coalesce(s.validation_warnings, ''), v.warning) > 0
            THEN s.validation_warnings
        ELSE concat_ws(E'\n', s.validation_warnings, v.warning)
    END,
    updated_at = now()
FROM unnest(CAST(:ids AS INT[]), CAST(:lats AS NUMERIC[]), CAST(:lngs AS NUMERIC[]),
            CAST(:warnings AS TEXT[])) AS v(id, lat, lng, warning)
WHERE s.id = v.id
