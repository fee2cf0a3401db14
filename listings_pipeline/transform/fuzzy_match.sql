-- Fuzzy matching of a job's stage rows that the bridge table and the match hash left
-- unlinked (seed 002 "Smart Deduplication"), in one statement for the whole job.
--
-- Candidates (each path uses an index from sql/011_fuzzy_match.sql or 055):
--   similar name (pg_trgm on the stored name key without spaces, pipeline.listing_name_keys;
--   threshold set by the caller),
--   same phone (pipeline.phone_key), same street address in the same city.
-- Signals, each 0..1:
--   name     trigram similarity of the names, also with spaces removed (Harbourview/Harbour View)
--   address  trigram similarity of the expanded addresses; 0 when the house numbers differ
--   city     1 when equal, else trigram similarity
--   phone    1 when a contact of the listing has the same number, 0 when all differ
--   distance 1 within :near_m, 0 beyond :far_m, linear between
-- Score: weighted mean. name .5, address .3 and city .2 always count (a side without the
-- value counts as 0.5: unknown); phone .2 and distance .2 count only when both sides have them.
-- Automatic link ('fuzzy') only when: score >= :auto, no second candidate within :margin,
-- name >= :min_name, same city, not farther than :far_m, the listing has no listing_info of
-- this DMO yet (else it belongs to another record of this source), no other row of the job
-- links to it and it is no other row's best candidate. Otherwise, from :suggest up:
-- 'suggested'. Rows below :suggest are left as they are (match_method 'none').
WITH src AS (
    SELECT s.id,
           s.dmo_id,
           pipeline.fuzzy_name(s.listing_name) AS name_key,
           replace(pipeline.fuzzy_name(s.listing_name), ' ', '') AS compact_key,
           a.address_key,
           substring(a.address_key FROM '\m\d+[a-z]?\M') AS house_number,
           pipeline.match_key(s.loc_city) AS city_key,
           coalesce(pipeline.phone_key(s.ci_international_phone),
                    pipeline.phone_key(s.ci_local_phone)) AS phone_key,
           s.loc_lat AS lat,
           s.loc_lng AS lng
    FROM stage.listings_flat AS s
    CROSS JOIN LATERAL (SELECT pipeline.normalize_address(s.loc_address1) AS address_key) AS a
    WHERE s.job_id = :job_id
      AND s.listing_internal_id IS NULL
      AND s.duplicate_of IS NULL
      AND s.listing_action IS DISTINCT FROM 'delete'
      AND s.listing_info_action IS DISTINCT FROM 'delete'
      AND pipeline.fuzzy_name(s.listing_name) IS NOT NULL
),
candidates AS (
    SELECT DISTINCT src.id AS stage_id, c.listing_id
    FROM src
    CROSS JOIN LATERAL (
        (SELECT k.listing_id
         FROM pipeline.listing_name_keys AS k
         WHERE k.compact_key % src.compact_key
         ORDER BY similarity(k.compact_key, src.compact_key) DESC, k.listing_id
         LIMIT 50)
        UNION
        SELECT li.listing_id
        FROM public.contact_info AS ci
        JOIN public.listing_info AS li ON li.contact_info_id = ci.id
        WHERE src.phone_key IS NOT NULL
          AND (pipeline.phone_key(ci.international_phone) = src.phone_key
               OR pipeline.phone_key(ci.local_phone) = src.phone_key)
        UNION
        SELECT l.id
        FROM public.locations AS lo
        JOIN public.listings AS l ON l.location_id = lo.id
        WHERE src.address_key IS NOT NULL
          AND pipeline.normalize_address(lo.address1) = src.address_key
          AND pipeline.match_key(lo.city) = src.city_key
    ) AS c
),
-- The comparison keys of each candidate listing, computed once per listing (a listing is a
-- candidate of many rows, and the keys' regular expressions were most of the matching time).
prod AS MATERIALIZED (
    SELECT l.id AS listing_id,
           n.name_key,
           replace(n.name_key, ' ', '') AS compact_key,
           a.address_key,
           substring(a.address_key FROM '\m\d+[a-z]?\M') AS house_number,
           pipeline.match_key(lo.city) AS city_key,
           lo.lat,
           lo.lng
    FROM (SELECT DISTINCT listing_id FROM candidates) AS c
    JOIN public.listings AS l ON l.id = c.listing_id
    LEFT JOIN public.locations AS lo ON lo.id = l.location_id
    CROSS JOIN LATERAL (SELECT pipeline.fuzzy_name(l.name) AS name_key) AS n
    CROSS JOIN LATERAL (SELECT pipeline.normalize_address(lo.address1) AS address_key) AS a
),
-- Materialized: the score and the rules below read each signal more than once.
signals AS MATERIALIZED (
    SELECT c.stage_id,
           c.listing_id,
           greatest(similarity(src.name_key, p.name_key),
                    similarity(src.compact_key, p.compact_key)) AS name_s,
           CASE
               WHEN src.address_key IS NULL OR p.address_key IS NULL THEN NULL
               WHEN src.house_number IS DISTINCT FROM p.house_number THEN 0
               ELSE similarity(src.address_key, p.address_key)
           END AS address_s,
           CASE
               WHEN src.city_key = '' OR p.city_key = '' THEN NULL
               WHEN src.city_key = p.city_key THEN 1
               ELSE similarity(src.city_key, p.city_key)
           END AS city_s,
           CASE WHEN src.phone_key IS NOT NULL THEN info.phone_equal::INT END AS phone_s,
           pipeline.distance_m(src.lat, src.lng, p.lat, p.lng) AS distance,
           coalesce(info.has_dmo_info, false) AS has_dmo_info
    FROM candidates AS c
    JOIN src ON src.id = c.stage_id
    JOIN prod AS p ON p.listing_id = c.listing_id
    LEFT JOIN LATERAL (
        SELECT bool_or(coalesce(pipeline.phone_key(ci.international_phone),
                                pipeline.phone_key(ci.local_phone)) = src.phone_key)
                   AS phone_equal,
               bool_or(li.dmo_id = src.dmo_id) AS has_dmo_info
        FROM public.listing_info AS li
        LEFT JOIN public.contact_info AS ci ON ci.id = li.contact_info_id
        WHERE li.listing_id = c.listing_id
    ) AS info ON true
),
scored AS (
    SELECT g.*,
           (0.5 * g.name_s
            + 0.3 * coalesce(g.address_s, 0.5)
            + 0.2 * coalesce(g.city_s, 0.5)
            + coalesce(0.2 * g.phone_s, 0)
            + coalesce(0.2 * d.geo_s, 0))
           / (1.0 + CASE WHEN g.phone_s IS NULL THEN 0 ELSE 0.2 END
                  + CASE WHEN d.geo_s IS NULL THEN 0 ELSE 0.2 END) AS score
    FROM signals AS g
    CROSS JOIN LATERAL (
        -- greatest/least skip NULLs: test the distance first
        SELECT CASE WHEN g.distance IS NOT NULL
                    THEN greatest(0, least(1, (:far_m - g.distance) / (:far_m - :near_m)))
               END AS geo_s
    ) AS d
),
-- Listings other rows of the job already link to (bridge, match hash, deletions).
taken AS (
    SELECT DISTINCT o.listing_internal_id AS listing_id
    FROM stage.listings_flat AS o
    WHERE o.job_id = :job_id AND o.listing_internal_id IS NOT NULL
),
ranked AS (
    SELECT s.*,
           row_number() OVER w AS rank,
           lead(s.score) OVER w AS second_score
    FROM scored AS s
    WINDOW w AS (PARTITION BY s.stage_id ORDER BY s.score DESC, s.listing_id)
),
best AS (
    SELECT r.*, count(*) OVER (PARTITION BY r.listing_id) AS rows_for_listing
    FROM ranked AS r
    WHERE r.rank = 1 AND r.score >= :suggest
),
decided AS (
    SELECT b.stage_id,
           b.listing_id,
           round(b.score::NUMERIC, 4) AS score,
           (b.score >= :auto
            AND coalesce(b.second_score, 0) <= b.score - :margin
            AND b.name_s >= :min_name
            AND coalesce(b.city_s, 0) = 1
            AND coalesce(b.distance, 0) <= :far_m
            AND NOT b.has_dmo_info
            AND b.rows_for_listing = 1
            AND b.listing_id NOT IN (SELECT listing_id FROM taken)) AS auto
    FROM best AS b
),
updated AS (
    UPDATE stage.listings_flat AS s
    SET listing_internal_id = CASE WHEN d.auto THEN d.listing_id END,
        match_candidate_id = CASE WHEN d.auto THEN NULL ELSE d.listing_id END,
        match_method = CASE WHEN d.auto THEN 'fuzzy' ELSE 'suggested' END,
        match_score = d.score,
        updated_at = now()
    FROM decided AS d
    WHERE s.id = d.stage_id
    RETURNING d.auto
)
SELECT (SELECT count(*) FROM src) AS considered,
       count(*) FILTER (WHERE auto) AS fuzzy,
       count(*) FILTER (WHERE NOT auto) AS suggested
FROM updated
