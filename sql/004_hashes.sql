-- The seed's hashes (000 "Public Hashes Generation"), defined once, in SQL, so the
-- transform (over stage batches) and promotion (over production rows) can never disagree.
-- MD5 (CHAR(32), as the seed's columns). Parts are joined with '|' and NULL renders as ''
-- so that (a, NULL, b) and (a, b, NULL) hash differently. An empty collection hashes to NULL.

-- Key used for matching: case, punctuation and spacing do not count.
CREATE FUNCTION pipeline.match_key(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(regexp_replace(lower(coalesce(value, '')),
                                               '[^[:alnum:][:space:]]', '', 'g'),
                                '[[:space:]]+', ' ', 'g'))
$$;

CREATE FUNCTION pipeline.hash_parts(VARIADIC parts TEXT[]) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(array_to_string(parts, '|', ''))
$$;

-- listings.listing_match_hash: name, locations.address1, locations.city
CREATE FUNCTION pipeline.listing_match_hash(name TEXT, address1 TEXT, city TEXT) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pipeline.hash_parts(pipeline.match_key(name), pipeline.match_key(address1),
                               pipeline.match_key(city))
$$;

-- listings.listing_content_hash: name
CREATE FUNCTION pipeline.listing_content_hash(name TEXT) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT pipeline.hash_parts(name) $$;

-- listing_info.listing_info_content_hash: description
CREATE FUNCTION pipeline.listing_info_content_hash(description TEXT) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT pipeline.hash_parts(description) $$;

-- locations.location_content_hash: address1, address2, city, state, zip, country, lat, lng
CREATE FUNCTION pipeline.location_content_hash(
    address1 TEXT, address2 TEXT, city TEXT, state TEXT, zip TEXT, country TEXT,
    lat NUMERIC(10, 8), lng NUMERIC(11, 8)) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pipeline.hash_parts(address1, address2, city, state, zip, country,
                               lat::NUMERIC(10, 8)::TEXT, lng::NUMERIC(11, 8)::TEXT)
$$;

-- contact_info.contact_info_content_hash: name, email, local_phone, international_phone, socials
CREATE FUNCTION pipeline.contact_info_content_hash(
    name TEXT, email TEXT, local_phone TEXT, international_phone TEXT, socials JSONB)
RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pipeline.hash_parts(name, email, local_phone, international_phone, socials::TEXT)
$$;

-- Collections. Stage keeps them as JSONB arrays; production as rows. Each pair of
-- functions below renders an element the same way, so both sides hash alike.

-- listing_info.images_content_hash: listing_images.image, in their order
CREATE FUNCTION pipeline.images_content_hash(images JSONB) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(string_agg(e.value, '|' ORDER BY e.n))
    FROM jsonb_array_elements_text(coalesce(images, '[]'::jsonb)) WITH ORDINALITY AS e(value, n)
$$;

-- opening_dates.opening_dates_content_hash: start_date, end_date of every range, sorted
CREATE FUNCTION pipeline.opening_dates_content_hash(dates JSONB) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(string_agg(part, '|' ORDER BY part))
    FROM (SELECT coalesce(d ->> 'start_date', '') || '~' || coalesce(d ->> 'end_date', '') AS part
          FROM jsonb_array_elements(coalesce(dates, '[]'::jsonb)) AS d) AS p
$$;

-- opening_hours.opening_hours_content_hash: day_id, open_time, close_time, sorted
CREATE FUNCTION pipeline.opening_hours_content_hash(hours JSONB) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(string_agg(part, '|' ORDER BY part))
    FROM (SELECT coalesce(h ->> 'day_id', '') || '~' || coalesce(h ->> 'open_time', '') || '~'
                 || coalesce(h ->> 'close_time', '') AS part
          FROM jsonb_array_elements(coalesce(hours, '[]'::jsonb)) AS h) AS p
$$;

-- listings.attributes_content_hash: the listing's attributes, sorted. Attribute ids only exist
-- once an attribute is promoted, so the stable attribute name stands in for attribute_id.
CREATE FUNCTION pipeline.attributes_content_hash(attributes JSONB) RETURNS CHAR(32)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(string_agg(DISTINCT lower(a), '|' ORDER BY lower(a)))
    FROM jsonb_array_elements_text(coalesce(attributes, '[]'::jsonb)) AS a
$$;
