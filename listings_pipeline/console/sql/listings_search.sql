-- Production listings by name (substring or trigram word similarity: both served by
-- idx_listings_name_trgm) and city (idx_locations_city_lower); best matches first.
SELECT l.id, l.name, l.listing_status, l.listing_visible, l.manually_modified, l.updated_at,
       loc.city, loc.state, loc.country,
       (SELECT count(*) FROM public.listing_info li WHERE li.listing_id = l.id) AS dmo_count,
       CASE WHEN CAST(:q AS TEXT) IS NULL THEN NULL ELSE word_similarity(:q, l.name) END
           AS score
FROM public.listings l
LEFT JOIN public.locations loc ON loc.id = l.location_id
WHERE (CAST(:q AS TEXT) IS NULL OR l.name ILIKE :q_pattern OR :q <% l.name)
  AND (CAST(:city AS TEXT) IS NULL OR lower(loc.city) = lower(:city))
  AND (CAST(:status AS TEXT) IS NULL OR l.listing_status = :status)
ORDER BY score DESC NULLS LAST, l.id DESC
LIMIT :limit OFFSET :offset;
