-- Stage rows of a job that still need coordinates: no lat/lng from the source and no
-- production listing to take them from (seed 000 3b), in id order, one page at a time.
SELECT id, loc_address1, loc_city, loc_state, loc_zip, loc_country
FROM stage.listings_flat
WHERE job_id = :job_id
  AND id > :after
  AND loc_lat IS NULL
  AND loc_lng IS NULL
  AND listing_internal_id IS NULL
  AND duplicate_of IS NULL
  AND listing_action IS DISTINCT FROM 'delete'
ORDER BY id
LIMIT :limit
