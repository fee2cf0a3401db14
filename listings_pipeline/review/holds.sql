-- name: job_holds
SELECT id, job_id, kind, subject, evidence, status, decided_by, decided_at, note
FROM pipeline.job_holds WHERE job_id = :job_id ORDER BY id;

-- name: upsert_hold
-- A re-run of the transform refreshes the evidence and keeps a decision already taken.
INSERT INTO pipeline.job_holds AS h (job_id, kind, subject, evidence, status, decided_by,
                                     decided_at, note)
VALUES (:job_id, :kind, :subject, CAST(:evidence AS JSONB), :status, :decided_by,
        CASE WHEN :status = 'pending' THEN NULL ELSE now() END, :note)
ON CONFLICT (job_id, kind, subject) DO UPDATE SET evidence = EXCLUDED.evidence;

-- name: drop_stale_holds
-- Pending holds of these kinds whose finding a re-run no longer makes.
DELETE FROM pipeline.job_holds
WHERE job_id = :job_id AND status = 'pending' AND kind = ANY(CAST(:kinds AS TEXT[]))
  AND NOT (kind || ':' || subject) = ANY(CAST(:keep AS TEXT[]));

-- name: lock_job
SELECT j.id, j.slug, j.status, p.status AS promote_status
FROM pipeline.jobs j
LEFT JOIN pipeline.job_stages p ON p.job_id = j.id AND p.name = 'promote'
WHERE j.id = :job_id
FOR UPDATE OF j;

-- name: decide_holds
UPDATE pipeline.job_holds SET status = :status, decided_by = :by, decided_at = now(), note = :note
WHERE job_id = :job_id AND status = 'pending'
  AND (CAST(:ids AS INT[]) IS NULL OR id = ANY(CAST(:ids AS INT[])))
RETURNING id;

-- name: approve_explained_rows
-- Accepting a source change accepts what it does to the rows: those that wait only because
-- they clear fields (review_reason 'clears_values') are approved when every field they clear
-- is named by an accepted source-change hold of the job.
WITH accepted AS (
    SELECT array_agg(evidence ->> 'field') AS fields FROM pipeline.job_holds
    WHERE job_id = :job_id AND kind = 'source_change' AND status = 'accepted'
      AND evidence ? 'field'
)
UPDATE stage.listings_flat s SET
    ok_to_promote = true, review_status = 'approved', reviewed_by = :by, reviewed_at = now(),
    review_note = :note, updated_at = now()
FROM accepted a
WHERE s.job_id = :job_id AND s.review_status = 'pending' AND s.review_reason = 'clears_values'
  AND s.promote_status = 'pending' AND s.clears_fields <@ a.fields
RETURNING s.id;

-- name: cancel_job
UPDATE pipeline.jobs SET status = 'cancelled', error_message = :message, finished_at = now()
WHERE id = :job_id;
