-- Issue 17, speed. Profiled at 50k (a 50,000-row source against 50,000 listings, load ~18 on
-- 2 cores) matching took 515 s: comparing 706k candidate pairs 285 s, the rows' comparison
-- values 93 s, the candidates' 86 s; and computing a promoted listing's keys ~0.3 ms. The
-- cause: SQL functions PostgreSQL cannot inline (a FROM clause: regexp_split_to_table, unnest)
-- run as a query of their own per call, several per row and per pair. Now one PL/pgSQL function
-- computes all of a record's comparison values and blocking keys in one pass (one regular
-- expression per field); a listing's are stored in pipeline.listing_match_profiles, kept with
-- its keys by the statement-level triggers, so candidates are read, not recomputed; pairs are
-- compared with inline expressions (fuzzy_match.sql).

-- Street words to one short form: "Boulevard"/"Blv"/"Boul" -> "blvd", "Saint" -> "st",
-- "West" -> "w", "Fifth" -> "5th". Inlined where it is used (a plain CASE).
CREATE FUNCTION pipeline.address_word(word TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE word
        WHEN 'street' THEN 'st' WHEN 'str' THEN 'st' WHEN 'saint' THEN 'st'
        WHEN 'avenue' THEN 'ave' WHEN 'av' THEN 'ave'
        WHEN 'boulevard' THEN 'blvd' WHEN 'blv' THEN 'blvd' WHEN 'boul' THEN 'blvd'
        WHEN 'road' THEN 'rd' WHEN 'drive' THEN 'dr' WHEN 'lane' THEN 'ln' WHEN 'court' THEN 'ct'
        WHEN 'crt' THEN 'ct'
        WHEN 'crescent' THEN 'cres' WHEN 'highway' THEN 'hwy' WHEN 'parkway' THEN 'pkwy'
        WHEN 'place' THEN 'pl' WHEN 'square' THEN 'sq' WHEN 'terrace' THEN 'ter'
        WHEN 'terr' THEN 'ter' WHEN 'trail' THEN 'trl' WHEN 'circle' THEN 'cir'
        WHEN 'point' THEN 'pt' WHEN 'mount' THEN 'mt' WHEN 'route' THEN 'rte' WHEN 'plaza' THEN 'plz'
        WHEN 'north' THEN 'n' WHEN 'south' THEN 's' WHEN 'east' THEN 'e' WHEN 'west' THEN 'w'
        WHEN 'northeast' THEN 'ne' WHEN 'northwest' THEN 'nw' WHEN 'southeast' THEN 'se'
        WHEN 'southwest' THEN 'sw'
        WHEN 'first' THEN '1st' WHEN 'second' THEN '2nd' WHEN 'third' THEN '3rd'
        WHEN 'fourth' THEN '4th' WHEN 'fifth' THEN '5th' WHEN 'sixth' THEN '6th'
        WHEN 'seventh' THEN '7th' WHEN 'eighth' THEN '8th' WHEN 'ninth' THEN '9th'
        WHEN 'tenth' THEN '10th'
        ELSE word END
$$;

-- What a record is compared on (see match_profile).
CREATE TYPE pipeline.match_profile AS (
    name_key TEXT, compact TEXT, tokens TEXT[], address_key TEXT, numbers TEXT[], street TEXT,
    city_key TEXT, postcode TEXT, keys TEXT[]);

-- A record's comparison values and blocking keys, in one pass:
--   name_key  "Apple Pan, The" / "The Apple Pan" -> "apple pan"; "Morton's" -> "mortons"
--   compact   the name without spaces; tokens: its words without articles or joining words
--   address_key  every variant to one short form, units ("Suite 200", "#4") left out:
--             "125 East 23rd St." and "125 E. 23rd Street" -> "125 e 23rd st"
--   numbers   its house numbers; street: the rest ("e 23rd st")
--   city_key, postcode ("15213-1738"/"15213.0" -> "15213", "B3J 1A1" -> "b3j1a1")
--   keys      n:<name word>, c:<compact>, a:<house number>:<longest street word>, z:<postcode>,
--             g:<cell of 0.001 degree>; a stage row asks for the 3x3 cells around it
--             (neighbours), a listing stores its own.
CREATE FUNCTION pipeline.match_profile(name TEXT, address1 TEXT, city TEXT, zip TEXT,
                                       lat NUMERIC, lng NUMERIC, neighbours BOOLEAN)
RETURNS pipeline.match_profile
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    p pipeline.match_profile;
    v TEXT;
    t TEXT;
    words TEXT[] := '{}';
    street_word TEXT;
    keys TEXT[] := '{}';
    y BIGINT;
    x BIGINT;
BEGIN
    p.tokens := '{}';
    p.numbers := '{}';
    v := btrim(regexp_replace(replace(translate(lower(name),
             'àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśł''’`´',
             'aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssl'), '&', ' and '), '[^a-z0-9]+', ' ', 'g'));
    IF v LIKE 'the %' THEN v := substr(v, 5); END IF;
    IF v LIKE '% the' THEN v := left(v, -4); END IF;
    IF v <> '' THEN
        p.name_key := v;
        p.compact := replace(v, ' ', '');
        keys := keys || ('c:' || p.compact);
        FOREACH t IN ARRAY string_to_array(v, ' ') LOOP
            IF t <> ALL ('{and,the,of,a,an,at,on,in,by,de,du,la,le,les,des,et,y,n}'::TEXT[])
               AND t <> ALL (p.tokens) THEN
                p.tokens := p.tokens || t;
                IF length(t) > 2 THEN keys := keys || ('n:' || t); END IF;
            END IF;
        END LOOP;
    END IF;

    v := btrim(regexp_replace(regexp_replace(translate(lower(address1),
             'àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśł''’',
             'aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssl'),
             '(\m(suite|ste|unit|apt|apartment|room|rm|floor|fl)\M\.?|#)\s*[a-z0-9-]+', ' ', 'g'),
             '[^a-z0-9]+', ' ', 'g'));
    IF v <> '' THEN
        FOREACH t IN ARRAY string_to_array(v, ' ') LOOP
            t := pipeline.address_word(t);
            words := words || t;
            IF t ~ '^\d+[a-z]?$' THEN
                p.numbers := p.numbers || t;
            ELSE
                p.street := CASE WHEN p.street IS NULL THEN t ELSE p.street || ' ' || t END;
                IF length(t) > 2 AND (street_word IS NULL OR length(t) > length(street_word)
                                      OR (length(t) = length(street_word) AND t < street_word)) THEN
                    street_word := t;
                END IF;
            END IF;
        END LOOP;
        p.address_key := array_to_string(words, ' ');
        IF street_word IS NOT NULL THEN
            FOREACH t IN ARRAY p.numbers LOOP
                keys := keys || ('a:' || t || ':' || street_word);
            END LOOP;
        END IF;
    END IF;
    p.city_key := nullif(pipeline.match_key(city), '');
    p.postcode := pipeline.postcode_key(zip);
    IF p.postcode IS NOT NULL THEN keys := keys || ('z:' || p.postcode); END IF;
    IF lat IS NOT NULL AND lng IS NOT NULL THEN
        y := floor(lat * 1000);
        x := floor(lng * 1000);
        IF neighbours THEN
            keys := keys || ARRAY[
                'g:' || (y - 1) || ':' || (x - 1), 'g:' || (y - 1) || ':' || x, 'g:' || (y - 1) || ':' || (x + 1),
                'g:' || y || ':' || (x - 1), 'g:' || y || ':' || x, 'g:' || y || ':' || (x + 1),
                'g:' || (y + 1) || ':' || (x - 1), 'g:' || (y + 1) || ':' || x, 'g:' || (y + 1) || ':' || (x + 1)];
        ELSE
            keys := keys || ('g:' || y || ':' || x);
        END IF;
    END IF;
    p.keys := keys;
    RETURN p;
END $$;

-- A listing's comparison values and blocking keys, stored once (the candidates' side of every
-- comparison). The keys in an array with a GIN index rather than a row per key: a promotion
-- batch adds its keys to the index's pending list (fastupdate), merged in bulk, where a btree
-- of (key, listing) rows with its foreign key cost 3x as much per promoted listing; matching
-- merges the pending list first (an unmerged list is scanned by every search).
CREATE TABLE pipeline.listing_match_profiles (
    listing_id   INT PRIMARY KEY REFERENCES public.listings (id) ON DELETE CASCADE,
    name_key     TEXT,
    compact      TEXT,
    tokens       TEXT[] NOT NULL,
    address_key  TEXT,
    numbers      TEXT[] NOT NULL,
    street       TEXT,
    city_key     TEXT,
    postcode     TEXT,
    lat          NUMERIC,
    lng          NUMERIC,
    keys         TEXT[] NOT NULL
);
CREATE INDEX idx_listing_match_profiles_keys ON pipeline.listing_match_profiles
    USING gin (keys) WITH (fastupdate = on);

DROP TRIGGER listings_match_keys_insert ON public.listings;
DROP TRIGGER listings_match_keys_update ON public.listings;
DROP TRIGGER locations_match_keys_update ON public.locations;
DROP FUNCTION pipeline.listing_match_keys_sync();
DROP FUNCTION pipeline.refresh_match_keys(INT[]);
DROP TABLE pipeline.listing_match_keys;
DROP FUNCTION pipeline.match_block_keys(TEXT, TEXT, TEXT, NUMERIC, NUMERIC, BOOLEAN);
DROP FUNCTION pipeline.address_numbers(TEXT);
DROP FUNCTION pipeline.address_street(TEXT);
DROP FUNCTION pipeline.match_address(TEXT);
DROP FUNCTION pipeline.match_tokens(TEXT);
DROP FUNCTION pipeline.match_name(TEXT);
DROP FUNCTION pipeline.unmatched_tokens(TEXT[], TEXT[]);

-- Profiles of the given listings, computed again from listings and locations. A join to
-- unnest(ids), not "= ANY(ids)": a promotion batch passes a thousand ids, and a filter would
-- compare every row with each of them.
CREATE FUNCTION pipeline.refresh_match_profiles(ids INT[]) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO pipeline.listing_match_profiles AS m (listing_id, name_key, compact, tokens,
        address_key, numbers, street, city_key, postcode, lat, lng, keys)
    SELECT l.id, p.name_key, p.compact, p.tokens, p.address_key, p.numbers, p.street,
           p.city_key, p.postcode, lo.lat, lo.lng, p.keys
    FROM (SELECT DISTINCT id FROM unnest(ids) AS i(id)) AS i
    JOIN public.listings AS l ON l.id = i.id
    LEFT JOIN public.locations AS lo ON lo.id = l.location_id
    CROSS JOIN LATERAL pipeline.match_profile(l.name, lo.address1, lo.city, lo.zip, lo.lat,
                                              lo.lng, false) AS p
    ON CONFLICT (listing_id) DO UPDATE
    SET (name_key, compact, tokens, address_key, numbers, street, city_key, postcode, lat, lng,
         keys) =
        (EXCLUDED.name_key, EXCLUDED.compact, EXCLUDED.tokens, EXCLUDED.address_key,
         EXCLUDED.numbers, EXCLUDED.street, EXCLUDED.city_key, EXCLUDED.postcode, EXCLUDED.lat,
         EXCLUDED.lng, EXCLUDED.keys);
$$;

SELECT pipeline.refresh_match_profiles(array_agg(id)) FROM public.listings;

-- Set-based: a promotion batch is one statement, so one refresh per batch.
CREATE FUNCTION pipeline.listing_match_profiles_sync() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'locations' THEN
        PERFORM pipeline.refresh_match_profiles(array_agg(l.id))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN public.listings l ON l.location_id = n.id
        WHERE (n.address1, n.city, n.zip, n.lat, n.lng)
              IS DISTINCT FROM (o.address1, o.city, o.zip, o.lat, o.lng);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pipeline.refresh_match_profiles(array_agg(n.id))
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.name, n.location_id) IS DISTINCT FROM (o.name, o.location_id);
    ELSE
        PERFORM pipeline.refresh_match_profiles(array_agg(n.id)) FROM new_rows n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER listings_match_profiles_insert AFTER INSERT ON public.listings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_profiles_sync();
CREATE TRIGGER listings_match_profiles_update AFTER UPDATE ON public.listings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_profiles_sync();
CREATE TRIGGER locations_match_profiles_update AFTER UPDATE ON public.locations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_match_profiles_sync();

-- Great-circle distance in metres, as pipeline.distance_m, but inlined where it is used (that
-- one is STRICT around a least(), which PostgreSQL does not inline: a function call per pair).
-- NULL when a coordinate is missing: every step propagates NULL.
CREATE FUNCTION pipeline.metres_between(lat1 NUMERIC, lng1 NUMERIC, lat2 NUMERIC, lng2 NUMERIC)
RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * 6371008.8 * asin(CASE
        WHEN sin(radians((lat2 - lat1)::float8) / 2) ^ 2
             + cos(radians(lat1::float8)) * cos(radians(lat2::float8))
               * sin(radians((lng2 - lng1)::float8) / 2) ^ 2 > 1 THEN 1
        ELSE sqrt(sin(radians((lat2 - lat1)::float8) / 2) ^ 2
                  + cos(radians(lat1::float8)) * cos(radians(lat2::float8))
                    * sin(radians((lng2 - lng1)::float8) / 2) ^ 2)
    END)
$$;

-- Phone for comparison (migration 011), the same value as one expression PostgreSQL inlines:
-- with a FROM clause it ran as a query of its own per call. The expression indexes on
-- contact_info hold the same values and still serve (index and query are compared inlined).
CREATE OR REPLACE FUNCTION pipeline.phone_key(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT right(substring(regexp_replace(
               regexp_replace(value, '\s*(ext\.?|extension|x|#)\s*\d+\s*$', '', 'i'),
               '\D', '', 'g') FROM '\d{7,}'), 10)
$$;

-- A phone key that identifies a business: not a placeholder like 000-000-0000 or 123-4567
-- (migration 085), as one inlined expression.
CREATE OR REPLACE FUNCTION pipeline.match_phone(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substring(pipeline.phone_key(value)
                     FROM '^(?!(?:0+|1+|2+|3+|4+|5+|6+|7+|8+|9+|1234567890|0123456789|1234567)$)\d+$')
$$;

-- Words of a category name for comparison: "Italian Restaurant" -> italian, restaurant. A
-- set-returning SQL function, inlined into the queries that use it (the array version it
-- replaces ran as a query of its own per record).
DROP FUNCTION pipeline.category_words(TEXT[]);
CREATE FUNCTION pipeline.category_words(name TEXT) RETURNS SETOF TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT w FROM regexp_split_to_table(pipeline.plain_letters(name), '[^a-z0-9]+') AS w
    WHERE length(w) >= 4
$$;

-- Two words of business names a person would take for the same word (migration 085), now also
-- when two neighbouring letters are swapped ("habrour"/"harbour": two edits for Levenshtein,
-- one typo; tested as: same length, same letters, at most two edits).
CREATE OR REPLACE FUNCTION pipeline.tokens_match(a TEXT, b TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT a = b
        OR (least(length(a), length(b)) >= 5
            AND levenshtein_less_equal(a, b, 2) <= CASE
                WHEN least(length(a), length(b)) >= 8 THEN 2
                WHEN length(a) = length(b) AND translate(a, b, '') = ''
                     AND translate(b, a, '') = '' THEN 2
                ELSE 1 END)
        OR ((least(length(a), length(b)) <= 2 OR least(length(a), length(b)) >= 4)
            AND (left(b, length(a)) = a OR left(a, length(b)) = b))
$$;
