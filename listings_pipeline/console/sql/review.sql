-- The review pages of a job (seed 000 "Manual Review"). A tab is one change_kind (:kind), or
-- the Matches tab (:matches): suggested matches plus rows matched to an existing listing by
-- match hash or fuzzy matching. Pages go by id (keyset) on idx_stage_job_kind_id /
-- idx_stage_job_matched, so page 1000 costs what page 1 does.

-- name: counts
-- Rows per tab of the whole job: total, waiting for a person, and not decided by anyone yet.
SELECT change_kind,
       coalesce(match_method IN ('match_hash', 'fuzzy'), false) AS matched,
       count(*) AS total,
       count(*) FILTER (WHERE review_status = 'pending') AS pending,
       count(*) FILTER (WHERE reviewed_at IS NULL AND promote_status = 'pending') AS open
FROM stage.listings_flat
WHERE job_id = :job_id
GROUP BY 1, 2;

-- name: page_forward
SELECT s.id FROM stage.listings_flat s
WHERE s.job_id = :job_id
  AND (CAST(:kind AS TEXT) IS NULL OR s.change_kind = :kind)
  AND (NOT :matches OR s.change_kind = 'uncertain_match' OR s.match_method IN ('match_hash', 'fuzzy'))
  AND (CAST(:status AS TEXT) IS NULL OR s.review_status = :status)
  AND (CAST(:q AS TEXT) IS NULL OR s.listing_name ILIKE :q_pattern OR s.source_id = :q)
  AND (CAST(:after AS INT) IS NULL OR s.id > :after)
ORDER BY s.id
LIMIT :limit;

-- name: page_backward
SELECT s.id FROM stage.listings_flat s
WHERE s.job_id = :job_id
  AND (CAST(:kind AS TEXT) IS NULL OR s.change_kind = :kind)
  AND (NOT :matches OR s.change_kind = 'uncertain_match' OR s.match_method IN ('match_hash', 'fuzzy'))
  AND (CAST(:status AS TEXT) IS NULL OR s.review_status = :status)
  AND (CAST(:q AS TEXT) IS NULL OR s.listing_name ILIKE :q_pattern OR s.source_id = :q)
  AND s.id < :before
ORDER BY s.id DESC
LIMIT :limit;

-- name: rows
-- The page's rows beside what production holds now: the listing the row maps to (or the one
-- suggested for an uncertain match), its location, the DMO's listing_info and contact, and
-- their collections; for a duplicate, the row it duplicates.
SELECT s.*,
       p.id AS p_id, p.name AS p_name, p.google_place_id AS p_google_place_id,
       p.listing_status AS p_listing_status, p.listing_visible AS p_listing_visible,
       p.imported_from AS p_imported_from, p.manually_modified_fields AS p_manual,
       loc.id AS loc_id, loc.address1 AS loc_p_address1, loc.address2 AS loc_p_address2,
       loc.region AS loc_p_region, loc.city AS loc_p_city, loc.state AS loc_p_state,
       loc.zip AS loc_p_zip, loc.country AS loc_p_country, loc.lat AS loc_p_lat,
       loc.lng AS loc_p_lng, loc.manually_modified_fields AS loc_manual,
       li.id AS li_id, li.description AS li_description, li.info_status AS li_info_status,
       li.info_visible AS li_info_visible, li.manually_modified_fields AS li_manual,
       ci.id AS ci_id, ci.name AS ci_p_name, ci.email AS ci_p_email,
       ci.local_phone AS ci_p_local_phone, ci.international_phone AS ci_p_international_phone,
       ci.website_url AS ci_p_website_url, ci.socials AS ci_p_socials,
       ci.manually_modified_fields AS ci_manual,
       (SELECT jsonb_agg(i.image ORDER BY i.sort_order, i.id)
        FROM public.listing_images i WHERE i.listing_info_id = li.id) AS p_images,
       (SELECT jsonb_agg(a.name ORDER BY lower(a.name))
        FROM public.bridge_attributes_listings b JOIN public.attributes a ON a.id = b.attribute_id
        WHERE b.listing_id = p.id) AS p_attributes,
       (SELECT jsonb_agg(jsonb_build_object('start_date', d.start_date, 'end_date', d.end_date)
                         ORDER BY d.start_date, d.id)
        FROM public.opening_dates d WHERE d.listing_info_id = li.id) AS p_dates,
       (SELECT jsonb_agg(jsonb_build_object('day_id', h.day_id, 'open_time', h.open_time,
                                            'close_time', h.close_time)
                         ORDER BY h.day_id, h.open_time, h.id)
        FROM public.opening_hours h WHERE h.listing_info_id = li.id) AS p_hours,
       dup.rec_num AS dup_rec_num, dup.source_id AS dup_source_id,
       dup.listing_name AS dup_listing_name, dup.quality_score AS dup_quality_score
FROM stage.listings_flat s
LEFT JOIN public.listings p ON p.id = coalesce(s.listing_internal_id, s.match_candidate_id)
LEFT JOIN public.locations loc ON loc.id = coalesce(s.location_internal_id, p.location_id)
LEFT JOIN public.listing_info li ON li.id = coalesce(
    s.listing_info_internal_id,
    (SELECT x.id FROM public.listing_info x WHERE x.listing_id = p.id AND x.dmo_id = s.dmo_id))
LEFT JOIN public.contact_info ci ON ci.id = coalesce(s.contact_info_internal_id, li.contact_info_id)
LEFT JOIN stage.listings_flat dup ON dup.id = s.duplicate_of
WHERE s.id = ANY(CAST(:ids AS INT[]))
ORDER BY s.id;

-- name: states
-- Where rows stand now (for telling a reviewer what someone else decided meanwhile).
SELECT id, review_status, reviewed_by, reviewed_at, promote_status
FROM stage.listings_flat
WHERE job_id = :job_id AND id = ANY(CAST(:ids AS INT[]))
ORDER BY id;

-- name: waiting_jobs
-- Jobs stopped at the review gate, newest first, with the rows that wait for a person.
SELECT j.id, j.slug, j.dmo_id, d.name AS dmo_name, j.status, j.records_total, j.started_at,
       (SELECT count(*) FROM stage.listings_flat s
        WHERE s.job_id = j.id AND s.review_status = 'pending') AS pending,
       (SELECT count(*) FROM pipeline.job_holds h
        WHERE h.job_id = j.id AND h.status = 'pending') AS holds
FROM pipeline.jobs j
LEFT JOIN public.dmos d ON d.id = j.dmo_id
WHERE j.status = 'review'
  AND (CAST(:dmo_ids AS INT[]) IS NULL OR j.dmo_id = ANY(CAST(:dmo_ids AS INT[])))
ORDER BY j.id DESC
LIMIT :limit OFFSET :offset;

-- name: promotion_progress
-- How far promotion got: it marks each row succeeded, skipped or failed as it goes.
SELECT count(*) AS total,
       count(*) FILTER (WHERE promote_status <> 'pending') AS done,
       count(*) FILTER (WHERE promote_status = 'failed') AS failed
FROM stage.listings_flat WHERE job_id = :job_id;

-- name: selection_open
-- Of the rows a decision selects (by ids, by kind, or all waiting), how many nobody decided.
SELECT count(*) AS selected,
       count(*) FILTER (WHERE reviewed_at IS NULL AND promote_status = 'pending') AS open
FROM stage.listings_flat
WHERE job_id = :job_id
  AND ((:all_rows AND review_status = 'pending') OR id = ANY(CAST(:row_ids AS INT[]))
       OR change_kind = :kind);
