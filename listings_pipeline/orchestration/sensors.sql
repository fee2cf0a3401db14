-- name: reviewed_jobs
-- Jobs stopped at the review gate whose last waiting row has been decided and whose holds
-- are all accepted.
SELECT j.id, j.slug FROM pipeline.jobs AS j
WHERE j.status = 'review'
  AND NOT EXISTS (
      SELECT 1 FROM stage.listings_flat AS s WHERE s.job_id = j.id AND s.review_status = 'pending'
  )
  AND NOT EXISTS (
      SELECT 1 FROM pipeline.job_holds AS h WHERE h.job_id = j.id AND h.status <> 'accepted'
  )
ORDER BY j.id;
