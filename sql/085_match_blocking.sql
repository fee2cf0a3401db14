-- Issue 17: matching by blocking keys and a Fellegi-Sunter model (transform/fuzzy.py).
--
-- Candidates were found by a trigram search over every listing name (migration 055), whose
-- posting lists grow with the catalogue. Now each listing has a few blocking keys (rare name
-- tokens, the name without spaces, house number + street, postcode, a ~100 m grid cell),
-- stored once in pipeline.listing_match_keys and kept by statement-level triggers; a stage row
-- looks up its own keys with one index probe each. Keys that many listings share are ignored
-- at match time (a placeholder, a chain's name, a big postcode), so no block is ever large.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- Name for comparison: "Apple Pan, The" / "The Apple Pan" -> "apple pan"; "Morton's" -> "mortons".
CREATE FUNCTION pipeline.match_name(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(regexp_replace(regexp_replace(btrim(regexp_replace(
               replace(translate(pipeline.plain_letters(value), '''’`´', ''), '&', ' and '),
               '[^a-z0-9]+', ' ', 'g')), '^the ', ''), ' the$', ''), '')
$$;

-- The words of a name that tell businesses apart (no articles or joining words).
CREATE FUNCTION pipeline.match_tokens(name_key TEXT) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}')
    FROM regexp_split_to_table(coalesce(name_key, ''), ' ') AS t
    WHERE t <> '' AND t NOT IN ('and', 'the', 'of', 'a', 'an', 'at', 'on', 'in', 'by', 'de',
                                'du', 'la', 'le', 'les', 'des', 'et', 'y', 'n')
$$;

-- Street address for comparison, every variant to one short form: "125 East 23rd St." and
-- "125 E. 23rd Street" -> "125 e 23rd st"; "Blvd"/"Blv."/"Boulevard" -> "blvd"; "Saint" and
-- "St" -> "st"; "Fifth" -> "5th". Units ("Suite 200", "#4", "Ste. B") are left out.
CREATE FUNCTION pipeline.match_address(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(string_agg(coalesce(w.short, t.token), ' ' ORDER BY t.n), '')
    FROM regexp_split_to_table(
             btrim(regexp_replace(regexp_replace(regexp_replace(
                 translate(pipeline.plain_letters(value), '''’', ''),
                 '(\m(suite|ste|unit|apt|apartment|room|rm|floor|fl)\M\.?|#)\s*[a-z0-9-]+', ' ', 'g'),
                 '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g')),
             ' ') WITH ORDINALITY AS t(token, n)
    LEFT JOIN (VALUES
        ('street', 'st'), ('str', 'st'), ('saint', 'st'), ('avenue', 'ave'), ('av', 'ave'),
        ('boulevard', 'blvd'), ('blv', 'blvd'), ('boul', 'blvd'), ('road', 'rd'),
        ('drive', 'dr'), ('lane', 'ln'), ('court', 'ct'), ('crescent', 'cres'),
        ('highway', 'hwy'), ('parkway', 'pkwy'), ('place', 'pl'), ('square', 'sq'),
        ('terrace', 'ter'), ('terr', 'ter'), ('trail', 'trl'), ('circle', 'cir'),
        ('point', 'pt'), ('mount', 'mt'), ('route', 'rte'), ('plaza', 'plz'),
        ('north', 'n'), ('south', 's'), ('east', 'e'), ('west', 'w'), ('northeast', 'ne'),
        ('northwest', 'nw'), ('southeast', 'se'), ('southwest', 'sw'),
        ('first', '1st'), ('second', '2nd'), ('third', '3rd'), ('fourth', '4th'),
        ('fifth', '5th'), ('sixth', '6th'), ('seventh', '7th'), ('eighth', '8th'),
        ('ninth', '9th'), ('tenth', '10th')
    ) AS w(word, short) ON w.word = t.token
    WHERE t.token <> ''
$$;

-- House numbers of a match_address: "200 1234 barrington st" -> {200, 1234}.
CREATE FUNCTION pipeline.address_numbers(address_key TEXT) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(t ORDER BY t), '{}')
    FROM regexp_split_to_table(coalesce(address_key, ''), ' ') AS t
    WHERE t ~ '^\d+[a-z]?$'
$$;

-- The street of a match_address, without house numbers: "125 e 23rd st" -> "e 23rd st".
CREATE FUNCTION pipeline.address_street(address_key TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(string_agg(t, ' ' ORDER BY n), '')
    FROM regexp_split_to_table(coalesce(address_key, ''), ' ') WITH ORDINALITY AS x(t, n)
    WHERE t !~ '^\d+[a-z]?$'
$$;

-- Postcode for comparison: "B3J 1A1" = "b3j1a1"; "15213-1738" and "15213.0" -> "15213".
CREATE FUNCTION pipeline.postcode_key(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(p) >= 3 THEN CASE WHEN p ~ '^\d{9}$' THEN left(p, 5) ELSE p END END
    FROM (SELECT regexp_replace(regexp_replace(lower(value), '\.0+$', ''), '[^a-z0-9]', '', 'g')
              AS p) AS x
$$;

-- A phone key that identifies a business: not a placeholder like 000-000-0000 or 123-4567.
CREATE FUNCTION pipeline.match_phone(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN k !~ '^(\d)\1+$' AND k NOT IN ('1234567890', '0123456789', '1234567')
                THEN k END
    FROM (SELECT pipeline.phone_key(value) AS k) AS x
$$;

-- The host of a website: "https://www.Chipotle.com/menu" -> "chipotle.com".
CREATE FUNCTION pipeline.web_host(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(substring(lower(value) FROM '^(?:[a-z]+://)?(?:www\d?\.)?([^/:?#\s]+)'), '')
$$;

-- Blocking keys of a record. A stage row asks for the 3x3 grid cells around it (neighbours),
-- a listing stores its own cell. Keys: n:<name token>, c:<name without spaces>,
-- a:<house number>:<longest street word>, z:<postcode>, g:<cell of 0.001 degree>.
CREATE FUNCTION pipeline.match_block_keys(name TEXT, address1 TEXT, zip TEXT, lat NUMERIC,
                                          lng NUMERIC, neighbours BOOLEAN) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH n AS (SELECT pipeline.match_name(name) AS name_key,
                      pipeline.match_address(address1) AS address_key),
    street AS (
        SELECT (SELECT t FROM regexp_split_to_table(pipeline.address_street(n.address_key), ' ') t
                WHERE length(t) > 2 ORDER BY length(t) DESC, t LIMIT 1) AS word
        FROM n
    )
    SELECT array_agg(DISTINCT k) FILTER (WHERE k IS NOT NULL)
    FROM n, street, LATERAL (
        SELECT 'n:' || t FROM unnest(pipeline.match_tokens(n.name_key)) AS t WHERE length(t) > 2
        UNION ALL SELECT 'c:' || replace(n.name_key, ' ', '')
        UNION ALL SELECT 'a:' || num || ':' || street.word
                  FROM unnest(pipeline.address_numbers(n.address_key)) AS num
                  WHERE street.word IS NOT NULL
        UNION ALL SELECT 'z:' || pipeline.postcode_key(zip)
        UNION ALL SELECT 'g:' || (floor(lat * 1000)::BIGINT + dy) || ':' || (floor(lng * 1000)::BIGINT + dx)
                  FROM generate_series(-1, 1) AS dy, generate_series(-1, 1) AS dx
                  WHERE lat IS NOT NULL AND lng IS NOT NULL
                    AND (neighbours OR (dx = 0 AND dy = 0))
    ) AS keys(k)
$$;

CREATE TABLE pipeline.listing_match_keys (
    key         TEXT NOT NULL,
    listing_id  INT NOT NULL REFERENCES public.listings (id) ON DELETE CASCADE,
    PRIMARY KEY (key, listing_id)
);
CREATE INDEX idx_listing_match_keys_listing ON pipeline.listing_match_keys (listing_id);

CREATE FUNCTION pipeline.refresh_match_keys(ids INT[]) RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM pipeline.listing_match_keys WHERE listing_id = ANY(ids);
    INSERT INTO pipeline.listing_match_keys (key, listing_id)
    SELECT DISTINCT k, l.id
    FROM public.listings AS l
    LEFT JOIN public.locations AS lo ON lo.id = l.location_id
    CROSS JOIN LATERAL unnest(pipeline.match_block_keys(l.name, lo.address1, lo.zip, lo.lat,
                                                        lo.lng, false)) AS k
    WHERE l.id = ANY(ids);
$$;

INSERT INTO pipeline.listing_match_keys (key, listing_id)
SELECT DISTINCT k, l.id
FROM public.listings AS l
LEFT JOIN public.locations AS lo ON lo.id = l.location_id
CROSS JOIN LATERAL unnest(pipeline.match_block_keys(l.name, lo.address1, lo.zip, lo.lat, lo.lng,
                                                    false)) AS k;

-- Set-based: a promotion batch is one statement, so one refresh per batch.
CREATE FUNCTION pipeline.listing_match_keys_sync() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'locations' THEN
        PERFORM pipeline.refresh_match_keys(array_agg(l.id))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN public.listings l ON l.location_id = n.id
        WHERE (n.address1, n.zip, n.lat, n.lng) IS DISTINCT FROM (o.address1, o.zip, o.lat, o.lng);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pipeline.refresh_match_keys(array_agg(n.id))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.name, n.location_id) IS DISTINCT FROM (o.name, o.location_id);
    ELSE
        PERFORM pipeline.refresh_match_keys(array_agg(n.id)) FROM new_rows n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER listings_match_keys_insert AFTER INSERT ON public.listings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_keys_sync();
CREATE TRIGGER listings_match_keys_update AFTER UPDATE ON public.listings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_keys_sync();
CREATE TRIGGER locations_match_keys_update AFTER UPDATE ON public.locations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_keys_sync();

-- The trigram name search these keys replace (migration 055).
DROP TRIGGER listings_name_keys_insert ON public.listings;
DROP TRIGGER listings_name_keys_update ON public.listings;
DROP FUNCTION pipeline.listing_name_keys_sync();
DROP TABLE pipeline.listing_name_keys;

-- What the matcher saw, for reviewers: signals and comparison levels of the best candidate.
ALTER TABLE stage.listings_flat ADD COLUMN match_signals JSONB;

-- Fellegi-Sunter parameters per pair of sources (the importing DMO, the DMO whose listing is
-- the candidate), estimated by EM at each matching run; other_dmo_id 0 = listings of no DMO.
CREATE TABLE pipeline.match_models (
    dmo_id        INT NOT NULL,
    other_dmo_id  INT NOT NULL,
    params        JSONB NOT NULL,   -- {"lambda": p, "m": {comparison: [per level]}, "u": {...}}
    pairs         INT NOT NULL,     -- candidate pairs the estimate saw
    labels        INT NOT NULL,     -- reviewers' decisions it used
    trained_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dmo_id, other_dmo_id)
);

-- Reviewers' decisions on suggested matches (accept_match / reject_match): labelled pairs
-- that the next estimate of the pair of sources learns from.
CREATE TABLE pipeline.match_labels (
    id            SERIAL PRIMARY KEY,
    dmo_id        INT NOT NULL,
    other_dmo_id  INT NOT NULL,
    job_id        INT,
    stage_id      INT,
    listing_id    INT NOT NULL,
    levels        JSONB NOT NULL,   -- comparison -> level, as in match_signals
    is_match      BOOLEAN NOT NULL,
    decided_by    TEXT,
    decided_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (stage_id, listing_id)
);
CREATE INDEX idx_match_labels_pair ON pipeline.match_labels (dmo_id, other_dmo_id);

-- Words of category names for comparison: {"Italian Restaurant", "Pizza"} -> {italian, pizza, restaurant}.
CREATE FUNCTION pipeline.category_words(names TEXT[]) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}')
    FROM unnest(names) AS n, regexp_split_to_table(pipeline.plain_letters(n), '[^a-z0-9]+') AS w
    WHERE length(w) >= 4
$$;

-- Two words of business names that a person would take for the same word: equal, a typo
-- ("oceanstone"/"ocaenstone"), or an abbreviation ("co"/"company", "pizza"/"pizzeria").
CREATE FUNCTION pipeline.tokens_match(a TEXT, b TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a = b
        OR (least(length(a), length(b)) >= 5
            AND levenshtein_less_equal(a, b, 2)
                <= CASE WHEN least(length(a), length(b)) >= 8 THEN 2 ELSE 1 END)
        OR ((least(length(a), length(b)) <= 2 OR least(length(a), length(b)) >= 4)
            AND (left(b, length(a)) = a OR left(a, length(b)) = b))
$$;

-- How many words of `a` have no counterpart in `b`.
CREATE FUNCTION pipeline.unmatched_tokens(a TEXT[], b TEXT[]) RETURNS INT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT count(*)::INT FROM unnest(a) AS t
    WHERE NOT EXISTS (SELECT 1 FROM unnest(b) AS u WHERE pipeline.tokens_match(t, u))
$$;
