-- Seed 004 expiry and archival, per source (DMO). A listing_info expires when it has opening
-- dates and every range ended before :cutoff; its listing is archived too once no other
-- visible, live listing_info remains. New dates bring an archived one back. A status a person
-- set is theirs (manually_modified_fields) and is left alone. The history and notification
-- statements of promote.sql record both, from the same promote_targets table.

-- name: expired_infos
INSERT INTO promote_targets (target_table, target_id, listing_id, reviewer, reason)
SELECT 'listing_info', li.id, li.listing_id, :by, 'expired: last opening date ' || e.last_end
FROM public.listing_info li
CROSS JOIN LATERAL (SELECT max(d.end_date) AS last_end, bool_and(d.end_date IS NOT NULL) AS ended
                    FROM public.opening_dates d WHERE d.listing_info_id = li.id) e
WHERE li.dmo_id = :dmo_id AND li.info_status NOT IN ('archived', 'missing_from_import')
  AND e.ended AND e.last_end < :cutoff
  AND NOT 'info_status' = ANY(li.manually_modified_fields);

-- name: expired_listings
INSERT INTO promote_targets (target_table, target_id, listing_id, reviewer, reason)
SELECT DISTINCT 'listings', l.id, l.id, :by, 'expired: no live listing info left'
FROM promote_targets t JOIN public.listings l ON l.id = t.listing_id
WHERE t.target_table = 'listing_info'
  AND l.listing_status NOT IN ('archived', 'missing_from_import')
  AND NOT 'listing_status' = ANY(l.manually_modified_fields)
  AND NOT EXISTS (SELECT 1 FROM public.listing_info o
                  WHERE o.listing_id = l.id AND o.info_visible
                    AND o.info_status NOT IN ('archived', 'missing_from_import')
                    AND NOT EXISTS (SELECT 1 FROM promote_targets x
                                    WHERE x.target_table = 'listing_info' AND x.target_id = o.id));

-- name: archive
WITH infos AS (
    UPDATE public.listing_info p SET info_status = 'archived', info_visible = false,
        updated_at = now(), promoted_at = now(), promoted_by = :by
    FROM promote_targets t WHERE t.target_table = 'listing_info' AND t.target_id = p.id
)
UPDATE public.listings p SET listing_status = 'archived', listing_visible = false,
    updated_at = now(), promoted_at = now(), promoted_by = :by
FROM promote_targets t WHERE t.target_table = 'listings' AND t.target_id = p.id;

-- name: renewed_infos
INSERT INTO promote_targets (target_table, target_id, listing_id, reviewer, reason)
SELECT 'listing_info', li.id, li.listing_id, :by, 'opening dates no longer expired'
FROM public.listing_info li
CROSS JOIN LATERAL (SELECT max(d.end_date) AS last_end, bool_and(d.end_date IS NOT NULL) AS ended
                    FROM public.opening_dates d WHERE d.listing_info_id = li.id) e
WHERE li.dmo_id = :dmo_id AND li.info_status = 'archived'
  AND NOT coalesce(e.ended AND e.last_end < :cutoff, false)
  AND NOT 'info_status' = ANY(li.manually_modified_fields);

-- name: renewed_listings
INSERT INTO promote_targets (target_table, target_id, listing_id, reviewer, reason)
SELECT DISTINCT 'listings', l.id, l.id, :by, 'opening dates no longer expired'
FROM promote_targets t JOIN public.listings l ON l.id = t.listing_id
WHERE t.target_table = 'listing_info' AND l.listing_status = 'archived'
  AND NOT 'listing_status' = ANY(l.manually_modified_fields);

-- name: restore
WITH infos AS (
    UPDATE public.listing_info p SET info_status = 'active', info_visible = true,
        updated_at = now(), promoted_at = now(), promoted_by = :by
    FROM promote_targets t WHERE t.target_table = 'listing_info' AND t.target_id = p.id
)
UPDATE public.listings p SET listing_status = 'active', listing_visible = true,
    updated_at = now(), promoted_at = now(), promoted_by = :by
FROM promote_targets t WHERE t.target_table = 'listings' AND t.target_id = p.id;

-- name: count_targets
SELECT count(*) FILTER (WHERE target_table = 'listing_info') AS infos,
       count(*) FILTER (WHERE target_table = 'listings') AS listings
FROM promote_targets;

-- name: clear_targets
DELETE FROM promote_targets;
