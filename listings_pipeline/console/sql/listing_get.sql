SELECT l.id, l.name, l.google_place_id, l.location_id, l.listing_status, l.listing_visible,
       l.listing_match_hash, l.listing_content_hash, l.attributes_content_hash,
       l.manually_modified, l.manually_modified_fields, l.imported_from,
       l.created_at, l.updated_at, l.promoted_at, l.promoted_by,
       l.claimed, l.claimed_by, l.claimed_at, l.externally_managed, l.origin_deleted,
       loc.address1, loc.address2, loc.region, loc.city, loc.state, loc.zip, loc.country,
       loc.lat, loc.lng, loc.location_content_hash,
       loc.manually_modified AS location_manually_modified,
       loc.manually_modified_fields AS location_manually_modified_fields
FROM public.listings l
LEFT JOIN public.locations loc ON loc.id = l.location_id
WHERE l.id = :listing_id;
