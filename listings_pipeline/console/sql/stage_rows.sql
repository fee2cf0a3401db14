-- A job's stage rows in import order (idx_stage_job_rec), filtered.
SELECT s.*
FROM stage.listings_flat s
WHERE s.job_id = :job_id
  AND (CAST(:listing_action AS TEXT) IS NULL OR s.listing_action = :listing_action)
  AND (CAST(:review_status AS TEXT) IS NULL OR s.review_status = :review_status)
  AND (CAST(:source_id AS TEXT) IS NULL OR s.source_id = :source_id)
  AND (CAST(:name AS TEXT) IS NULL OR s.listing_name ILIKE :name_pattern)
ORDER BY s.rec_num, s.id
LIMIT :limit OFFSET :offset;
