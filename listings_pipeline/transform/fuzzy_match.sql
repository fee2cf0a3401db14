-- Fuzzy matching of a job's stage rows that the bridge table and the match hash left unlinked
-- (seed 002 "Smart Deduplication"), set-based, in steps over temporary tables (fuzzy.py runs
-- them in order, in the caller's transaction):
--   sources     the rows to match, with their comparison values and blocking keys
--   hits        listings sharing a blocking key (migration 086) or a phone number, ignoring any
--               key that more than :max_block listings or rows share
--   cells       the hits of each grid cell as one row; told: the pairs sharing another key
--   candidates  at most :max_candidates per row, those sharing the most telling keys first
--   profiles    the comparison values of each candidate listing, computed once per listing
--   pairs       each (row, listing) with its comparison levels (match_model.COMPARISONS)
--   patterns    the distinct level patterns per pair of sources: fuzzy.py estimates the model
--               (EM) and writes each pattern's weight into match_weights
--   decide      the best candidate per row: linked ('fuzzy') or suggested for review

-- name: reset
DROP TABLE IF EXISTS match_src, match_hits, match_cells, match_told, match_cand, match_prod, match_pairs, match_weights;

-- name: work_mem
SELECT current_setting('work_mem');

-- name: set_work_mem
-- For this transaction (fuzzy.py puts the previous value back after the step): the step's sorts
-- and hashes in memory, not in temporary files. At 4 MB, at 50k rows, the pairs' joins ran in 4
-- batches through 150 MB of temporary files, and the key hits, the candidates' ranking and the
-- profiles sorted on disk (7-23 MB each).
SELECT set_config('work_mem', :value, true);

-- name: merge_keys
-- Keys that promotions added since wait in the GIN index's pending list, which every search
-- would scan: merge them once, here.
SELECT gin_clean_pending_list('pipeline.idx_listing_match_profiles_keys'::regclass);

-- name: sources
CREATE TEMP TABLE match_src ON COMMIT DROP AS
SELECT s.id AS stage_id,
       s.dmo_id,
       p.name_key,
       p.compact,
       p.tokens,
       -- each name word as a street word ("saint" -> "st", "avenue" -> "ave"): names write
       -- them as addresses do ("St Clair Hospital" / "Saint Clair Hospital"); mapped once per
       -- row here, so comparing pairs' words costs one more equality
       ARRAY(SELECT pipeline.address_word(t) FROM unnest(p.tokens) WITH ORDINALITY AS u(t, i)
             ORDER BY i) AS street_words,
       p.address_key,
       p.numbers,
       p.street,
       p.city_key,
       p.postcode,
       coalesce(pipeline.match_phone(s.ci_international_phone),
                pipeline.match_phone(s.ci_local_phone)) AS phone,
       s.loc_lat AS lat,
       s.loc_lng AS lng,
       coalesce(c.categories, '{}') AS categories,
       pipeline.web_host(s.ci_website_url) AS host,
       p.keys,
       k.core,
       k.kinds
FROM stage.listings_flat AS s
CROSS JOIN LATERAL pipeline.match_profile(s.listing_name, s.loc_address1, s.loc_city, s.loc_zip,
                                          s.loc_lat, s.loc_lng, true) AS p
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT w) AS categories
    FROM jsonb_array_elements_text(CASE jsonb_typeof(s.attributes) WHEN 'array'
                                                                   THEN s.attributes END) AS a,
         pipeline.category_words(a) AS w
) AS c
CROSS JOIN LATERAL pipeline.name_kinds(p.tokens) AS k
WHERE s.job_id = :job_id
  AND s.listing_internal_id IS NULL
  AND s.duplicate_of IS NULL
  AND s.listing_action IS DISTINCT FROM 'delete'
  AND s.listing_info_action IS DISTINCT FROM 'delete'
  AND p.name_key IS NOT NULL;

-- name: sources_analyze
-- The row count and the columns later statements join or group on. The array columns' element
-- statistics, which no statement here uses, were nearly all of ANALYZE's time (1.3 s of 1.4 at
-- 50k rows).
ANALYZE match_src (stage_id, dmo_id, phone);

-- name: hits
-- Each key the rows ask for, with the listings that share it: one index probe per distinct key,
-- reading at most :max_block + 1 listings of it; a key more than :max_block listings or rows
-- share is left out. Kept in a table of its own, analysed, so that the planner sees its real
-- size (inside one statement it estimated a few hundred rows for 142k and the grouping spilled).
CREATE TEMP TABLE match_hits ON COMMIT DROP AS
WITH src_keys AS (
    SELECT k.key, count(*) AS rows
    FROM match_src AS s
    CROSS JOIN LATERAL unnest(s.keys) AS k(key)
    GROUP BY k.key
),
key_hits AS (
    SELECT k.key, h.listing_id, h.lat, h.lng, count(*) OVER (PARTITION BY k.key) AS listings
    FROM src_keys AS k
    CROSS JOIN LATERAL (
        SELECT mp.listing_id, mp.lat, mp.lng FROM pipeline.listing_match_profiles AS mp
        WHERE mp.keys @> ARRAY[k.key] LIMIT :max_block + 1
    ) AS h
    WHERE k.rows <= :max_block
),
src_phones AS (
    SELECT phone, count(*) AS rows FROM match_src WHERE phone IS NOT NULL GROUP BY phone
),
phone_hits AS (
    SELECT 'p:' || p.phone AS key, h.listing_id, mp.lat, mp.lng,
           count(*) OVER (PARTITION BY p.phone) AS listings
    FROM src_phones AS p
    CROSS JOIN LATERAL (
        SELECT DISTINCT li.listing_id
        FROM (SELECT ci.id FROM public.contact_info AS ci
              WHERE pipeline.phone_key(ci.international_phone) = p.phone
              UNION
              SELECT ci.id FROM public.contact_info AS ci
              WHERE pipeline.phone_key(ci.local_phone) = p.phone) AS c
        JOIN public.listing_info AS li ON li.contact_info_id = c.id
        LIMIT :max_block + 1
    ) AS h
    LEFT JOIN pipeline.listing_match_profiles AS mp ON mp.listing_id = h.listing_id
    WHERE p.rows <= :max_block
)
SELECT key, listing_id, lat, lng FROM key_hits WHERE listings <= :max_block
UNION ALL
SELECT key, listing_id, lat, lng FROM phone_hits WHERE listings <= :max_block
ORDER BY key;  -- a key's listings together: the rows' cell lookups read few pages

-- name: hits_index
CREATE INDEX ON match_hits (key, listing_id) INCLUDE (lat, lng);

-- name: hits_cell_index
CREATE INDEX ON match_hits (listing_id) WHERE left(key, 2) = 'g:';

-- name: hits_analyze
-- before the statements that read it: unanalysed, it was taken for ~750 listings per key
-- (there are one or two), and their joins and groupings were planned for 100 times the rows
ANALYZE match_hits;

-- name: cells
-- The listings of each grid cell asked for, as one row per cell: a row reads its nine cells
-- with nine lookups instead of one per listing in them.
CREATE TEMP TABLE match_cells ON COMMIT DROP AS
SELECT key, array_agg(listing_id) AS ids, array_agg(lat::FLOAT8) AS lats,
       array_agg(lng::FLOAT8) AS lngs
FROM match_hits
WHERE left(key, 2) = 'g:'
GROUP BY key;

-- name: cells_index
CREATE UNIQUE INDEX ON match_cells (key);

-- name: told
-- Pairs sharing a key other than a grid cell, with how telling their keys are: a phone or the
-- whole name much more than a postcode; a grid cell shared as well adds its one. Grouped row by
-- row (a few dozen hits each): grouping all the hits at once by (row, listing) was a hash
-- aggregate that spilled to disk, more so the larger the job (787k pairs at 100k).
CREATE TEMP TABLE match_told ON COMMIT DROP AS
WITH cells AS (
    -- a listing's own cell (one), where the rows asking for it are few enough; indexed
    -- (hits_cell_index): looked up by listing, this is a probe, never a scan per pair
    SELECT listing_id, key FROM match_hits WHERE left(key, 2) = 'g:'
)
SELECT s.stage_id, p.listing_id, p.nearness,
       p.strength + coalesce(c.key = ANY(s.keys), false)::INT AS strength
FROM match_src AS s
CROSS JOIN LATERAL (
    SELECT h.listing_id,
           sum(CASE left(k.key, 2) WHEN 'p:' THEN 4 WHEN 'c:' THEN 4 WHEN 'a:' THEN 3
                                   WHEN 'n:' THEN 2 ELSE 1 END) AS strength,
           -- squared degrees of latitude: enough to order by
           max((s.lat::FLOAT8 - h.lat::FLOAT8) ^ 2
               + ((s.lng::FLOAT8 - h.lng::FLOAT8) * cos(radians(s.lat::FLOAT8))) ^ 2) AS nearness
    FROM (SELECT key FROM unnest(s.keys) AS u(key) WHERE left(key, 2) <> 'g:'
          UNION ALL
          SELECT 'p:' || s.phone WHERE s.phone IS NOT NULL) AS k(key)
    JOIN match_hits AS h ON h.key = k.key
    GROUP BY h.listing_id
) AS p
LEFT JOIN cells AS c ON c.listing_id = p.listing_id;

-- name: told_index
CREATE INDEX ON match_told (stage_id, listing_id);

-- name: told_analyze
ANALYZE match_cells, match_told;

-- name: candidates
-- A row keeps its :max_candidates listings sharing the most telling keys, nearest first; of
-- those sharing only a grid cell or a postcode (weak: a neighbour, most often) the nearest
-- :max_weak. Most key hits are grid cells (a row asks for the 3x3 cells around it): grouping
-- them all by (row, listing) was most of the work (1.7 M hits at 50k). Now the pairs sharing
-- another key are grouped (match_told), and of the listings that share only a cell each row
-- reads just the nearest it could keep: :max_weak more than those it shares another key with.
CREATE TEMP TABLE match_cand ON COMMIT DROP AS
WITH told_rows AS (
    SELECT stage_id, count(*) AS n FROM match_told GROUP BY stage_id
),
cell_only AS (
    SELECT s.stage_id, c.listing_id, 1 AS strength, c.nearness
    FROM match_src AS s
    LEFT JOIN told_rows AS t ON t.stage_id = s.stage_id
    CROSS JOIN LATERAL (
        SELECT h.listing_id,
               (s.lat::FLOAT8 - h.lat) ^ 2
               + ((s.lng::FLOAT8 - h.lng) * cos(radians(s.lat::FLOAT8))) ^ 2 AS nearness
        FROM match_cells AS m
        CROSS JOIN LATERAL unnest(m.ids, m.lats, m.lngs) AS h(listing_id, lat, lng)
        WHERE m.key = ANY(s.keys)
        ORDER BY nearness NULLS LAST, h.listing_id
        LIMIT :max_weak + coalesce(t.n, 0)
    ) AS c
    WHERE NOT EXISTS (SELECT FROM match_told AS o
                      WHERE o.stage_id = s.stage_id AND o.listing_id = c.listing_id)
),
ranked AS (
    SELECT p.*,
           row_number() OVER w AS n,
           count(*) FILTER (WHERE p.strength >= 2) OVER (PARTITION BY p.stage_id) AS strong
    FROM (SELECT stage_id, listing_id, strength, nearness FROM match_told
          UNION ALL
          SELECT stage_id, listing_id, strength, nearness FROM cell_only) AS p
    WINDOW w AS (PARTITION BY p.stage_id ORDER BY p.strength DESC, p.nearness NULLS LAST,
                 p.listing_id)
)
SELECT stage_id, listing_id, strength
FROM ranked
WHERE n <= :max_candidates AND (strength >= 2 OR n - strong <= :max_weak);

-- name: profiles
-- The stored comparison values of each candidate listing (migration 086), with its phones,
-- websites, DMOs and category words, each read once per listing.
CREATE TEMP TABLE match_prod ON COMMIT DROP AS
WITH ids AS (SELECT DISTINCT listing_id FROM match_cand),
info AS (
    SELECT li.listing_id,
           array_agg(DISTINCT v.phone) FILTER (WHERE v.phone IS NOT NULL) AS phones,
           array_agg(DISTINCT v.host) FILTER (WHERE v.host IS NOT NULL) AS hosts,
           array_agg(DISTINCT li.dmo_id) AS dmos
    FROM ids
    JOIN public.listing_info AS li ON li.listing_id = ids.listing_id
    LEFT JOIN public.contact_info AS ci ON ci.id = li.contact_info_id
    CROSS JOIN LATERAL (VALUES (pipeline.match_phone(ci.international_phone),
                                pipeline.web_host(ci.website_url)),
                               (pipeline.match_phone(ci.local_phone), NULL)) AS v(phone, host)
    GROUP BY li.listing_id
),
-- the words of each attribute once (there are far fewer attributes than listings)
attribute_words AS MATERIALIZED (
    SELECT at.id, w FROM public.attributes AS at, pipeline.category_words(at.name) AS w
),
cats AS (
    SELECT b.listing_id, array_agg(DISTINCT aw.w) AS categories
    FROM ids
    JOIN public.bridge_attributes_listings AS b ON b.listing_id = ids.listing_id
    JOIN attribute_words AS aw ON aw.id = b.attribute_id
    GROUP BY b.listing_id
)
SELECT ids.listing_id,
       coalesce(p.name_key, '') AS name_key,
       coalesce(p.compact, '') AS compact,
       coalesce(p.tokens, '{}') AS tokens,
       ARRAY(SELECT pipeline.address_word(t) FROM unnest(p.tokens) WITH ORDINALITY AS u(t, i)
             ORDER BY i) AS street_words,
       p.address_key,
       coalesce(p.numbers, '{}') AS numbers,
       p.street,
       p.city_key,
       p.postcode,
       p.lat,
       p.lng,
       coalesce(info.phones, '{}') AS phones,
       coalesce(info.hosts, '{}') AS hosts,
       coalesce(info.dmos, '{}') AS dmos,
       coalesce(cats.categories, '{}') AS categories,
       k.core,
       k.kinds
FROM ids
JOIN pipeline.listing_match_profiles AS p ON p.listing_id = ids.listing_id
CROSS JOIN LATERAL pipeline.name_kinds(p.tokens) AS k
LEFT JOIN info ON info.listing_id = ids.listing_id
LEFT JOIN cats ON cats.listing_id = ids.listing_id;

-- name: profiles_analyze
-- As sources_analyze: the keys the pairs statement joins on (1.1 s -> 0.1 s at 50k).
ANALYZE match_cand (stage_id, listing_id), match_prod (listing_id);

-- name: pairs
-- Levels per comparison (-1: a side has no value), in match_model.COMPARISONS order. Inline
-- expressions over stored values, the costlier ones (similarity, words compared one by one with
-- Levenshtein) only where the cheap ones leave the level open.
CREATE TEMP TABLE match_pairs ON COMMIT DROP AS
WITH phone_rows AS (
    -- how many of a row's candidates have its phone number: counted apart, as a window over
    -- the pairs it made PostgreSQL sort every pair with both sides' values by row (147 MB on
    -- disk at 50k, twice that at 100k)
    SELECT c.stage_id, count(*) AS n
    FROM match_cand AS c
    JOIN match_src AS s ON s.stage_id = c.stage_id
    JOIN match_prod AS p ON p.listing_id = c.listing_id
    WHERE s.phone = ANY(p.phones)
    GROUP BY c.stage_id
)
SELECT c.stage_id,
       c.listing_id,
       coalesce((SELECT min(d) FROM unnest(p.dmos) AS d WHERE d <> s.dmo_id), 0) AS other_dmo,
       s.dmo_id = ANY(p.dmos) AS has_dmo_info,
       ARRAY[
           -- name: same / one within the other / similar / shares a word / different
           CASE
               WHEN e.same_name THEN 4
               -- "The Grill at the Harbour Hotel" / "Harbour Hotel": a business at a place,
               -- not the place
               WHEN e.tenant THEN 1
               -- "Downtown Branch Carnegie Library of Pittsburgh" / "Carnegie Library of
               -- Pittsburgh": a branch of an institution, not the institution
               WHEN ('branch' = ANY(s.tokens)) <> ('branch' = ANY(p.tokens)) THEN 1
               WHEN e.ta > 0 AND e.tb > 0 AND (w.ua = 0 OR w.ub = 0) THEN 3
               WHEN length(s.compact) >= 5 AND length(p.compact) >= 5
                    AND (strpos(s.compact, p.compact) > 0 OR strpos(p.compact, s.compact) > 0)
                   THEN 3
               -- the same but for words of one kind of business ("Dong Hai Grill" / "Dong
               -- Hai Restaurant"); not when each names a kind the other does not (a hotel's
               -- "Peninsula Hotel Cafe" / "Peninsula Hotel Restaurant": two businesses)
               WHEN w.core_ua = 0 AND w.core_ub = 0 AND NOT w.kinds_differ THEN 3
               WHEN w.name_s >= 0.5 AND NOT (w.ua > 0 AND w.ub > 0) THEN 2
               WHEN w.name_s >= 0.3 OR w.ua < e.ta OR w.ub < e.tb THEN 1
               ELSE 0
           END,
           -- address: same / similar (same number) / same street, a number missing / different
           CASE
               WHEN s.address_key IS NULL OR p.address_key IS NULL THEN -1
               WHEN s.address_key = p.address_key THEN 3
               WHEN e.same_number AND w.street_s >= 0.7 THEN 3
               WHEN e.same_number AND w.street_s >= 0.35 THEN 2
               WHEN (cardinality(s.numbers) = 0 OR cardinality(p.numbers) = 0)
                    AND w.street_s >= 0.6 THEN 1
               ELSE 0
           END,
           CASE
               WHEN s.city_key IS NULL OR p.city_key IS NULL THEN -1
               WHEN s.city_key = p.city_key THEN 2
               WHEN similarity(s.city_key, p.city_key) >= 0.5 THEN 1
               ELSE 0
           END,
           CASE
               WHEN s.postcode IS NULL OR p.postcode IS NULL THEN -1
               WHEN s.postcode = p.postcode THEN 2
               WHEN left(s.postcode, 3) = left(p.postcode, 3) THEN 1
               ELSE 0
           END,
           -- a number several candidates share (a switchboard, a placeholder) tells nothing
           CASE
               WHEN s.phone IS NULL OR cardinality(p.phones) = 0 THEN -1
               WHEN e.same_phone THEN CASE WHEN ph.n = 1 THEN 1 ELSE -1 END
               ELSE 0
           END,
           CASE
               WHEN e.distance IS NULL THEN -1
               WHEN e.distance <= 50 THEN 4
               WHEN e.distance <= 150 THEN 3
               WHEN e.distance <= 500 THEN 2
               WHEN e.distance <= 2000 THEN 1
               ELSE 0
           END,
           CASE
               WHEN cardinality(s.categories) = 0 OR cardinality(p.categories) = 0 THEN -1
               WHEN s.categories && p.categories THEN 1
               ELSE 0
           END,
           CASE
               WHEN s.host IS NULL OR cardinality(p.hosts) = 0 THEN -1
               WHEN s.host = ANY(p.hosts) THEN 1
               ELSE 0
           END
       ]::SMALLINT[] AS levels,
       w.name_s,
       w.street_s,
       e.distance,
       s.phone,
       -- the names share a word that tells which business it is (not a kind, a cuisine),
       -- name no different kinds of business, and neither is a business at the other or its
       -- branch: with address and phone, one business. Not two names that both name lodging
       -- (a hotel, inn, cottages: sql/084, 088): its outlets share its name, address and phone
       -- ("... Inn Diinng Room" / "... Inn Café": a typo hides the kind).
       w.shares_core AND NOT w.kinds_differ AND NOT e.tenant
       AND ('branch' = ANY(s.tokens)) = ('branch' = ANY(p.tokens))
       AND NOT ('lodging' = ANY(s.kinds) AND 'lodging' = ANY(p.kinds)) AS one_business
FROM match_cand AS c
JOIN match_src AS s ON s.stage_id = c.stage_id
JOIN match_prod AS p ON p.listing_id = c.listing_id
LEFT JOIN phone_rows AS ph ON ph.stage_id = c.stage_id
CROSS JOIN LATERAL (
    SELECT s.name_key = p.name_key OR s.compact = p.compact AS same_name,
           -- one name is "<business> at <the other>"
           coalesce(strpos(s.name_key, ' at ') > 0 AND strpos(p.name_key, ' at ') = 0
                    AND strpos(replace(substring(s.name_key FROM ' at (.*)$'), ' ', ''),
                               p.compact) > 0
                    OR strpos(p.name_key, ' at ') > 0 AND strpos(s.name_key, ' at ') = 0
                       AND strpos(replace(substring(p.name_key FROM ' at (.*)$'), ' ', ''),
                                  s.compact) > 0, false) AS tenant,
           cardinality(s.tokens) AS ta,
           cardinality(p.tokens) AS tb,
           s.numbers && p.numbers AS same_number,
           coalesce(s.phone = ANY(p.phones), false) AS same_phone,
           pipeline.metres_between(s.lat, s.lng, p.lat, p.lng) AS distance
    -- OFFSET 0 here and below: computed once per pair. Pulled up, each use in the levels
    -- would compute it again (the distance, an inlined haversine, 14 times per pair).
    OFFSET 0
) AS e
-- Each word of one name tried against each of the other once (the Levenshtein calls were most
-- of the comparing): which words of either side found a counterpart, as bits.
CROSS JOIN LATERAL (
    SELECT bit_count(bit_or(set_bit(repeat('0', e.ta)::VARBIT, a.i::INT - 1, 1))) AS matched_a,
           bit_count(bit_or(set_bit(repeat('0', e.tb)::VARBIT, b.j::INT - 1, 1))) AS matched_b
    FROM unnest(s.tokens, s.street_words) WITH ORDINALITY AS a(t, st, i)
    CROSS JOIN unnest(p.tokens, p.street_words) WITH ORDINALITY AS b(u, su, j)
    WHERE NOT e.same_name AND (pipeline.tokens_match(a.t, b.u) OR a.st = b.su)
) AS m
-- The same one pass over the names' core words, when they differ from the whole names.
CROSS JOIN LATERAL (
    SELECT NOT (e.same_name OR cardinality(s.core) = 0 OR cardinality(p.core) = 0
                OR (cardinality(s.core) = e.ta AND cardinality(p.core) = e.tb)) AS compared
) AS kc
CROSS JOIN LATERAL (
    SELECT bit_count(bit_or(set_bit(repeat('0', cardinality(s.core))::VARBIT, a.i::INT - 1, 1)))
               AS matched_a,
           bit_count(bit_or(set_bit(repeat('0', cardinality(p.core))::VARBIT, b.j::INT - 1, 1)))
               AS matched_b
    FROM unnest(s.core) WITH ORDINALITY AS a(t, i)
    CROSS JOIN unnest(p.core) WITH ORDINALITY AS b(u, j)
    WHERE kc.compared IS NOT FALSE AND pipeline.tokens_match(a.t, b.u)
) AS k
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.same_name THEN 1
                ELSE greatest(similarity(s.name_key, p.name_key), similarity(s.compact, p.compact))
           END AS name_s,
           -- words of each name with no counterpart in the other (pipeline.tokens_match: equal,
           -- a typo, an abbreviation); not needed when the names are the same
           CASE WHEN NOT e.same_name THEN e.ta - coalesce(m.matched_a, 0) END AS ua,
           CASE WHEN NOT e.same_name THEN e.tb - coalesce(m.matched_b, 0) END AS ub,
           CASE WHEN s.street IS NOT NULL AND p.street IS NOT NULL
                THEN CASE WHEN s.street = p.street THEN 1 ELSE similarity(s.street, p.street) END
           END AS street_s,
           -- core words (pipeline.name_kinds: without the words of a kind of business, a
           -- cuisine, a company form) of each name with no counterpart in the other's core;
           -- NULL when neither name has such a word, or a core is empty
           CASE WHEN kc.compared IS NOT FALSE
                THEN coalesce(cardinality(s.core), 0) - coalesce(k.matched_a, 0) END AS core_ua,
           CASE WHEN kc.compared IS NOT FALSE
                THEN coalesce(cardinality(p.core), 0) - coalesce(k.matched_b, 0) END AS core_ub,
           NOT s.kinds <@ p.kinds AND NOT p.kinds <@ s.kinds AS kinds_differ,
           CASE WHEN e.same_name THEN true
                WHEN cardinality(s.core) = 0 OR cardinality(p.core) = 0 THEN false
                WHEN kc.compared THEN coalesce(k.matched_a, 0) > 0
                ELSE coalesce(m.matched_a, 0) > 0
           END AS shares_core
    OFFSET 0
) AS w;

-- name: patterns
-- Each pattern's pairs and rows. A row's first pair of a pattern counts the row: sorting by row
-- first compares few level arrays (a count(DISTINCT stage_id) sorted all the pairs by their
-- levels, some 20 array comparisons a pair: 4.7 s of 720k pairs at 100k).
SELECT dmo_id, other_dmo, levels, count(*) AS n, count(*) FILTER (WHERE first) AS rows
FROM (SELECT s.dmo_id, p.other_dmo, p.levels,
             row_number() OVER (PARTITION BY p.stage_id, p.other_dmo, p.levels) = 1 AS first
      FROM match_pairs AS p JOIN match_src AS s USING (stage_id)) AS p
GROUP BY dmo_id, other_dmo, levels
ORDER BY dmo_id, other_dmo, levels;  -- EM sums them in this order: the same weights each time

-- name: pattern_rows
SELECT s.dmo_id, p.other_dmo, count(*) AS n
FROM (SELECT DISTINCT stage_id, other_dmo FROM match_pairs) AS p
JOIN match_src AS s USING (stage_id)
GROUP BY s.dmo_id, p.other_dmo;

-- name: labels
SELECT other_dmo_id, levels, is_match
FROM pipeline.match_labels
WHERE dmo_id = :dmo_id AND other_dmo_id = ANY(CAST(:others AS INT[]));

-- name: save_model
INSERT INTO pipeline.match_models (dmo_id, other_dmo_id, params, pairs, labels, trained_at)
VALUES (:dmo_id, :other_dmo_id, CAST(:params AS JSONB), :pairs, :labels, now())
ON CONFLICT (dmo_id, other_dmo_id) DO UPDATE
SET params = EXCLUDED.params, pairs = EXCLUDED.pairs, labels = EXCLUDED.labels,
    trained_at = EXCLUDED.trained_at;

-- name: weights
CREATE TEMP TABLE match_weights ON COMMIT DROP AS
SELECT (e ->> 'other')::INT AS other_dmo,
       ARRAY(SELECT jsonb_array_elements_text(e -> 'levels')::SMALLINT) AS levels,
       (e ->> 'weight')::FLOAT8 AS weight,
       (e ->> 'probability')::FLOAT8 AS probability
FROM jsonb_array_elements(CAST(:weights AS JSONB)) AS e;

-- name: decide
-- The best candidate of a row is the likeliest of those eligible (could be linked at all: the
-- names agree at least at level :min_name_level, not known to be farther than :far_m), else
-- the likeliest of all. Automatic link ('fuzzy') only when: it is eligible; probability >=
-- :auto; no other eligible candidate within :margin nor itself above :auto, unless the best
-- is :margin_bits more likely (2^bits times: probabilities near 1 cannot tell a chain's
-- branch at the same address and phone from one across town with only the name and the
-- chain's website; a rival must itself be placed); in another city only if postcode, phone or
-- coordinates agree; something besides the name says where it is (placed: a same name 500 m
-- away with no address is a chain's other branch as often as not); beyond :phone_m only with
-- the phone; the listing has no listing_info of this DMO yet (else it belongs to another
-- record of this source); no other row of the job links to it and it is no other row's
-- confident eligible best candidate. Two businesses in one building share address, phone and
-- coordinates, never their name: the name levels (pairs) keep a hotel's restaurant and its
-- café below :min_name_level. Otherwise, from :suggest up: 'suggested'. Below: as it is.
WITH scored AS (
    -- eligible: could be linked automatically at all. A candidate that could not (another
    -- name, or known to be farther than :far_m) is no rival to the best one and claims no
    -- listing: a chain's branch across town, the office block next door.
    -- placed: something besides the name says where it is: a similar address, the phone,
    -- within 150 m; the same name within 500 m where the addresses do not disagree (a
    -- building's centroid in one source, its entrance in the other); or, only where the
    -- addresses do not disagree (a bank's branches share both), the postcode, or the city when
    -- there are no coordinates.
    -- Names that only share a word are eligible where the address and the phone are the same
    -- and the shared word tells the business (one_business): "Dodo Bird" / "Dodo Cafe".
    SELECT p.*, w.weight, w.probability,
           (p.levels[1] >= :min_name_level
            OR (p.levels[1] = 1 AND p.one_business AND p.levels[2] = 3 AND p.levels[5] = 1))
           AND coalesce(p.distance, 0) <= :far_m AS eligible,
           p.levels[2] >= 2 OR p.levels[5] = 1 OR p.levels[6] >= 3
           OR (p.levels[2] <> 0
               AND (p.levels[4] = 2 OR (p.levels[3] = 2 AND p.levels[6] = -1)
                    OR (p.levels[1] = 4 AND p.levels[6] = 2))) AS placed
    FROM match_pairs AS p
    JOIN match_weights AS w ON w.other_dmo = p.other_dmo AND w.levels = p.levels
),
taken AS (
    SELECT DISTINCT o.listing_internal_id AS listing_id
    FROM stage.listings_flat AS o
    WHERE o.job_id = :job_id AND o.listing_internal_id IS NOT NULL
),
ranked AS (
    SELECT s.*,
           row_number() OVER w AS rank,
           lead(s.probability) OVER w AS second_probability,
           lead(s.weight) OVER w AS second_weight,
           -- the best of the other eligible candidates: the next one, if eligible (they come
           -- first) and placed. A chain's branch 900 m away known only by its name, however
           -- sure the model is of a same name, casts no doubt on the one at the address.
           CASE WHEN lead(s.eligible AND s.placed) OVER w THEN lead(s.probability) OVER w END
               AS rival_probability,
           CASE WHEN lead(s.eligible AND s.placed) OVER w THEN lead(s.weight) OVER w END
               AS rival_weight,
           count(*) OVER (PARTITION BY s.stage_id) AS candidates
    FROM scored AS s
    -- the best: the likeliest of those that could be linked, if any (the model may like a
    -- same name 8 km away better than the one 80 m away without an address)
    WINDOW w AS (PARTITION BY s.stage_id ORDER BY s.eligible DESC, s.weight DESC, s.listing_id)
),
best AS (
    -- Rows that claim the listing confidently; a weak suggestion elsewhere, or a row that could
    -- not be linked to it, does not count.
    SELECT r.*, count(*) FILTER (WHERE r.probability >= :auto AND r.eligible)
                    OVER (PARTITION BY r.listing_id) AS rows_for_listing
    FROM ranked AS r
    WHERE r.rank = 1 AND r.probability >= :suggest
),
decided AS (
    SELECT b.*,
           (b.probability >= :auto
            AND ((coalesce(b.rival_probability, 0) <= b.probability - :margin
                  AND coalesce(b.rival_probability, 0) < :auto)
                 OR b.weight - b.rival_weight >= :margin_bits)
            AND b.eligible
            -- another city (or a neighbourhood for it): only if postcode, phone or
            -- coordinates say it is the same place
            AND (b.levels[3] <> 0 OR b.levels[4] = 2 OR b.levels[5] = 1 OR b.levels[6] >= 3)
            AND b.placed
            AND coalesce(b.distance, 0) <= :far_m
            -- points farther apart than :phone_m contradict a same address (a newspaper's
            -- name at its old address): only the phone settles it
            AND (coalesce(b.distance, 0) <= :phone_m OR b.levels[5] = 1)
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
        match_score = round(d.probability::NUMERIC, 4),
        match_signals = jsonb_build_object(
            'levels', jsonb_build_object(
                'name', d.levels[1], 'address', d.levels[2], 'city', d.levels[3],
                'postcode', d.levels[4], 'phone', d.levels[5], 'distance', d.levels[6],
                'category', d.levels[7], 'website', d.levels[8]),
            'name_similarity', round(d.name_s::NUMERIC, 3),
            'street_similarity', round(d.street_s::NUMERIC, 3),
            'distance_m', round(d.distance::NUMERIC),
            'phone', d.phone,
            'weight', round(d.weight::NUMERIC, 2),
            'probability', round(d.probability::NUMERIC, 6),
            'second_probability', round(d.second_probability::NUMERIC, 6),
            'candidates', d.candidates,
            'other_dmo', d.other_dmo,
            'auto', d.auto),
        updated_at = now()
    FROM decided AS d
    WHERE s.id = d.stage_id
    RETURNING d.auto
)
SELECT (SELECT count(*) FROM match_src) AS considered,
       (SELECT count(*) FROM match_pairs) AS pairs,
       count(*) FILTER (WHERE auto) AS fuzzy,
       count(*) FILTER (WHERE NOT auto) AS suggested
FROM updated;
