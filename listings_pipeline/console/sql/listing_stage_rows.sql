-- The latest stage rows that matched this listing (idx_stage_listing_internal).
SELECT s.id, s.job_id, s.rec_num, s.dmo_id, s.source_id, s.listing_action, s.review_status,
       s.promote_status, s.created_at
FROM stage.listings_flat s
WHERE s.listing_internal_id = :listing_id
ORDER BY s.id DESC
LIMIT 20;
