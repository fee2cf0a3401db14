-- Production listings whose name contains :q or has words like it (pg_trgm word similarity;
-- both conditions are served by idx_listings_name_trgm), best matches first.
-- The page is chosen first so rows skipped by OFFSET are never joined or counted.
WITH page AS (
    SELECT l.id, word_similarity(:q, l.name) AS score
    FROM public.listings l
    LEFT JOIN public.locations loc ON loc.id = l.location_id
    WHERE (l.name ILIKE :q_pattern OR :q <% l.name)
      AND (CAST(:city AS TEXT) IS NULL OR lower(loc.city) = lower(:city))
      AND (CAST(:status AS TEXT) IS NULL OR l.listing_status = :status)
      AND (CAST(:dmo_ids AS INT[]) IS NULL
           OR EXISTS (SELECT 1 FROM public.listing_info li
                      WHERE li.listing_id = l.id AND li.dmo_id = ANY(CAST(:dmo_ids AS INT[]))))
    ORDER BY score DESC, l.id DESC
    LIMIT :limit OFFSET :offset
)
SELECT l.id, l.name, l.listing_status, l.listing_visible, l.manually_modified, l.updated_at,
       loc.city, loc.state, loc.country,
       (SELECT count(*) FROM public.listing_info li WHERE li.listing_id = l.id) AS dmo_count,
       page.score
FROM page
JOIN public.listings l ON l.id = page.id
LEFT JOIN public.locations loc ON loc.id = l.location_id
ORDER BY page.score DESC, l.id DESC;
