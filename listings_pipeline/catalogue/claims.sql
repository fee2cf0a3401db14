-- Claims (seed 003): a person takes a production listing over from its source, or gives it
-- back. The UPDATEs go through the outside-edit trigger (100_claims.sql), which records a
-- 'claim' / 'unclaim' version with listings.editor as who and listings.change_reason as why.

-- name: editor
SELECT set_config('listings.editor', :who, true),
       set_config('listings.change_reason', :reason, true);

-- name: current
SELECT l.id, l.name, l.claimed, l.claimed_by, l.claimed_at, l.externally_managed
FROM public.listings l WHERE l.id = :listing_id
FOR UPDATE;

-- name: claim
UPDATE public.listings
SET claimed = true, claimed_by = :who, claimed_at = now(), externally_managed = NOT :own
WHERE id = :listing_id
RETURNING id, name, claimed, claimed_by, claimed_at, externally_managed;

-- name: unclaim
UPDATE public.listings
SET claimed = false, claimed_by = NULL, claimed_at = NULL, externally_managed = true
WHERE id = :listing_id
RETURNING id, name, claimed, claimed_by, claimed_at, externally_managed;

-- name: unclaimed
-- Seed 003 "Ingested Listings": a DMO's live listings nobody has claimed, by id (keyset), with
-- the source that brought them in. A listing shared by several DMOs shows for each.
SELECT l.id, l.name, loc.city, l.listing_status, l.listing_visible, l.origin_deleted,
       li.imported_from, l.created_at, l.updated_at
FROM public.listing_info li
JOIN public.listings l ON l.id = li.listing_id
LEFT JOIN public.locations loc ON loc.id = l.location_id
WHERE li.dmo_id = :dmo_id AND NOT l.claimed AND l.externally_managed
  AND l.listing_status <> 'missing_from_import' AND li.info_status <> 'missing_from_import'
  AND (CAST(:after AS INT) IS NULL OR l.id > :after)
ORDER BY l.id
LIMIT :limit;

-- name: claimed
-- The DMO's claimed listings, by id.
SELECT l.id, l.name, loc.city, l.listing_status, l.listing_visible, l.origin_deleted,
       l.claimed_by, l.claimed_at, l.externally_managed
FROM public.listing_info li
JOIN public.listings l ON l.id = li.listing_id
LEFT JOIN public.locations loc ON loc.id = l.location_id
WHERE li.dmo_id = :dmo_id AND (l.claimed OR NOT l.externally_managed)
  AND (CAST(:after AS INT) IS NULL OR l.id > :after)
ORDER BY l.id
LIMIT :limit;

-- name: counts
-- Per DMO: live listings, how many are claimed, how many still wait for a person.
SELECT d.id AS dmo_id, d.name AS dmo_name,
       count(l.id) AS listings,
       count(l.id) FILTER (WHERE l.claimed OR NOT l.externally_managed) AS claimed,
       count(l.id) FILTER (WHERE NOT l.claimed AND l.externally_managed) AS unclaimed
FROM public.dmos d
LEFT JOIN public.listing_info li ON li.dmo_id = d.id AND li.info_status <> 'missing_from_import'
LEFT JOIN public.listings l ON l.id = li.listing_id AND l.listing_status <> 'missing_from_import'
GROUP BY d.id, d.name
ORDER BY d.id;
