-- Normalisers and indexes for fuzzy matching (transform/fuzzy_match.sql). All IMMUTABLE so
-- that production tables can be indexed on them; the stage side is computed per job.

-- Latin letters with accents and their plain forms (same table in transform/geocode.py).
CREATE FUNCTION pipeline.plain_letters(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(lower(value), 'àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśł',
                                   'aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssl')
$$;

-- Business name for comparison: "The Harbour-View Inn & Spa" -> "harbour view inn and spa".
CREATE FUNCTION pipeline.fuzzy_name(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(regexp_replace(btrim(regexp_replace(
               replace(replace(pipeline.plain_letters(value), '''', ''), '&', ' and '),
               '[^a-z0-9]+', ' ', 'g')), '^the ', ''), '')
$$;

-- Street address for comparison: "12 Water St." -> "12 water street".
-- Same words as transform/geocode.py ADDRESS_WORDS (a test keeps them equal).
CREATE FUNCTION pipeline.normalize_address(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(string_agg(coalesce(w.word, t.token), ' ' ORDER BY t.n), '')
    FROM regexp_split_to_table(
             btrim(regexp_replace(replace(pipeline.plain_letters(value), '''', ''),
                                  '[^a-z0-9]+', ' ', 'g')),
             ' ') WITH ORDINALITY AS t(token, n)
    LEFT JOIN (VALUES
        ('st', 'street'), ('str', 'street'), ('ave', 'avenue'), ('av', 'avenue'),
        ('rd', 'road'), ('dr', 'drive'), ('blvd', 'boulevard'), ('ln', 'lane'),
        ('ct', 'court'), ('cres', 'crescent'), ('hwy', 'highway'), ('pkwy', 'parkway'),
        ('pl', 'place'), ('sq', 'square'), ('ter', 'terrace'), ('terr', 'terrace'),
        ('trl', 'trail'), ('cir', 'circle'), ('pt', 'point'), ('mt', 'mount'),
        ('rte', 'route'), ('ste', 'suite'), ('apt', 'apartment'), ('fl', 'floor'),
        ('bldg', 'building'), ('n', 'north'), ('s', 'south'), ('e', 'east'), ('w', 'west'),
        ('ne', 'northeast'), ('nw', 'northwest'), ('se', 'southeast'), ('sw', 'southwest')
    ) AS w(abbr, word) ON w.abbr = t.token
    WHERE t.token <> ''
$$;

-- Phone for comparison: the last 10 digits, extension dropped, so that "(902) 555-0101",
-- "902.555.0101" and "+19025550101" agree. NULL below 7 digits.
CREATE FUNCTION pipeline.phone_key(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(d) >= 7 THEN right(d, 10) END
    FROM (SELECT regexp_replace(
                     regexp_replace(value, '\s*(ext\.?|extension|x|#)\s*\d+\s*$', '', 'i'),
                     '\D', '', 'g') AS d) AS digits
$$;

-- Great-circle distance in metres (no PostGIS needed for a distance between two points);
-- NULL when a coordinate is missing (STRICT: least() alone would skip the NULL).
CREATE FUNCTION pipeline.distance_m(lat1 NUMERIC, lng1 NUMERIC, lat2 NUMERIC, lng2 NUMERIC)
RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 2 * 6371008.8 * asin(least(1, sqrt(
               sin(radians((lat2 - lat1)::float8) / 2) ^ 2
               + cos(radians(lat1::float8)) * cos(radians(lat2::float8))
                 * sin(radians((lng2 - lng1)::float8) / 2) ^ 2)))
$$;

-- Name candidates are searched without spaces: "harbourviewinn" finds "Harbour View Inn",
-- and dropping word-boundary trigrams leaves fewer, rarer trigrams (a faster search).
-- fastupdate off: a GIN pending list (filled by promotions) is scanned linearly by every
-- search, which made candidate searches 5x slower until the next vacuum.
CREATE INDEX idx_listings_fuzzy_name ON public.listings
    USING gin ((replace(pipeline.fuzzy_name(name), ' ', '')) gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX idx_locations_address_city ON public.locations
    (pipeline.normalize_address(address1), pipeline.match_key(city));
CREATE INDEX idx_contact_info_intl_phone_key ON public.contact_info
    (pipeline.phone_key(international_phone));
CREATE INDEX idx_contact_info_local_phone_key ON public.contact_info
    (pipeline.phone_key(local_phone));
CREATE INDEX idx_listing_info_contact ON public.listing_info (contact_info_id);
