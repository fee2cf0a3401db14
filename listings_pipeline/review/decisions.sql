-- name: job_state
SELECT j.id, j.slug, j.dmo_id, j.status, p.status AS promote_status
FROM pipeline.jobs j
LEFT JOIN pipeline.job_stages p ON p.job_id = j.id AND p.name = 'promote'
WHERE j.id = :job_id;

-- name: foreign_rows
SELECT r.id FROM unnest(CAST(:row_ids AS INT[])) AS r(id)
LEFT JOIN stage.listings_flat s ON s.id = r.id AND s.job_id = :job_id
WHERE s.id IS NULL ORDER BY r.id;

-- name: selection
-- The selected rows, and whether each can still be decided: only rows nobody has decided yet
-- and that are not promoted (a stale page cannot re-decide); "approve all" takes only the rows
-- that wait for a person.
SELECT s.id, s.promote_status <> 'pending' AS promoted, s.reviewed_at IS NOT NULL AS decided,
       s.match_method = 'suggested' AS uncertain, s.match_candidate_id IS NOT NULL AS has_candidate
FROM stage.listings_flat s
WHERE s.job_id = :job_id
  AND (:all_rows OR s.id = ANY(CAST(:row_ids AS INT[])) OR s.change_kind = :kind)
  AND (:all_rows IS FALSE OR :approve IS FALSE OR s.review_status = 'pending'
       OR s.reviewed_at IS NOT NULL OR s.promote_status <> 'pending')
ORDER BY s.id;

-- name: record_match_labels
-- A reviewer's accept_match / reject_match is a labelled pair for the matcher of this pair of
-- sources (transform/match_model.py): the next estimate learns from it. Only pairs the
-- model compared (match_signals has their levels).
INSERT INTO pipeline.match_labels (dmo_id, other_dmo_id, job_id, stage_id, listing_id, levels,
                                   is_match, decided_by)
SELECT s.dmo_id, coalesce((s.match_signals ->> 'other_dmo')::INT, 0), s.job_id, s.id,
       s.match_candidate_id, s.match_signals -> 'levels', :accept, :reviewer
FROM stage.listings_flat s
WHERE s.id = ANY(CAST(:ids AS INT[])) AND s.match_candidate_id IS NOT NULL
  AND s.match_signals ? 'levels'
ON CONFLICT (stage_id, listing_id) DO UPDATE
SET is_match = EXCLUDED.is_match, decided_by = EXCLUDED.decided_by, decided_at = now();

-- name: settle_match
-- accept_match: the suggested listing is the match; reject_match: the row is a new listing.
-- The candidate stays recorded either way.
UPDATE stage.listings_flat s SET
    listing_internal_id = CASE WHEN :accept THEN s.match_candidate_id END,
    listing_info_internal_id = NULL, location_internal_id = NULL, contact_info_internal_id = NULL,
    match_method = CASE WHEN :accept THEN 'reviewer' ELSE 'none' END,
    match_score = CASE WHEN :accept THEN s.match_score END
WHERE s.id = ANY(CAST(:ids AS INT[]));

-- name: mapped_targets
SELECT jsonb_object_keys(field_mappings) FROM pipeline.config_snapshots WHERE job_id = :job_id;

-- name: decide
UPDATE stage.listings_flat s SET
    ok_to_promote = :approve,
    review_status = CASE WHEN :approve THEN 'approved' ELSE 'rejected' END,
    reviewed_by = :reviewer, reviewed_at = now(), review_note = :note,
    force_overwrite = s.force_overwrite OR :force,
    listing_action = CASE WHEN :skip THEN 'skip' ELSE s.listing_action END,
    listing_info_action = CASE WHEN :skip THEN 'skip' ELSE s.listing_info_action END,
    location_action = CASE WHEN :skip THEN 'skip' ELSE s.location_action END,
    contact_info_action = CASE WHEN :skip THEN 'skip' ELSE s.contact_info_action END,
    images_action = CASE WHEN :skip THEN 'skip' ELSE s.images_action END,
    opening_dates_action = CASE WHEN :skip THEN 'skip' ELSE s.opening_dates_action END,
    opening_hours_action = CASE WHEN :skip THEN 'skip' ELSE s.opening_hours_action END,
    attributes_action = CASE WHEN :skip THEN 'skip' ELSE s.attributes_action END,
    updated_at = now()
WHERE s.id = ANY(CAST(:ids AS INT[])) AND s.promote_status = 'pending' AND s.reviewed_at IS NULL
RETURNING s.id;

-- name: summary
SELECT change_kind AS kind, review_status AS status, count(*) AS n
FROM stage.listings_flat WHERE job_id = :job_id GROUP BY 1, 2 ORDER BY 1, 2;

-- name: rows
-- With the suggested listing of an uncertain match beside the row (name, address, city, a
-- phone) and what the matcher saw (match_signals).
SELECT s.id, s.rec_num, s.source_id, s.change_kind, s.review_status, s.review_reason,
       s.ok_to_promote, s.listing_name, s.loc_address1, s.loc_city,
       coalesce(s.ci_local_phone, s.ci_international_phone) AS phone, s.listing_internal_id,
       s.match_method, s.match_score, s.match_candidate_id, s.match_signals, s.duplicate_of,
       s.listing_action, s.listing_info_action, s.validation_errors, s.promote_status,
       c.name AS candidate_name, cl.address1 AS candidate_address1, cl.city AS candidate_city,
       (SELECT coalesce(ci.local_phone, ci.international_phone)
        FROM public.listing_info li JOIN public.contact_info ci ON ci.id = li.contact_info_id
        WHERE li.listing_id = c.id
          AND coalesce(ci.local_phone, ci.international_phone) IS NOT NULL
        ORDER BY li.id LIMIT 1) AS candidate_phone
FROM stage.listings_flat s
LEFT JOIN public.listings c ON c.id = s.match_candidate_id AND s.match_method = 'suggested'
LEFT JOIN public.locations cl ON cl.id = c.location_id
WHERE s.job_id = :job_id AND (CAST(:status AS TEXT) IS NULL OR s.review_status = :status)
  AND (CAST(:kind AS TEXT) IS NULL OR s.change_kind = :kind)
ORDER BY s.id LIMIT :limit OFFSET :offset;
