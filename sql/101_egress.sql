-- Egress (seed 003 "Egress: ... a Postgres view with standard column aliases"): the read
-- contract for consumers. A view per version: a new shape is a new view (listings_v2); v1 keeps
-- its columns and meaning. Tourism listings speak schema.org (LocalBusiness /
-- TouristAttraction), the counterpart of the seed's RESO names for property; a property path
-- becomes a snake_case column (address.streetAddress → address_street_address).
--
-- Published = the listing is visible and active, and at least one DMO publishes visible,
-- active information about it. One row per listing. Contact, description, images and hours
-- are per DMO (listing_info): the flat columns hold the first DMO's (its oldest listing_info),
-- `dmo_info` holds every DMO's, each under schema.org names with the DMO as `publisher`.
-- date_modified is the newest change in pipeline.listing_history (claims excluded: they change
-- nothing a consumer sees).

CREATE SCHEMA IF NOT EXISTS egress;

-- The changes feed (catalogue API) reads history in commit-safe order: by the writing
-- transaction's id, showing only transactions older than every one still running, so a
-- cursor never skips a version that commits late. Older versions share id 1 (no rewrite).
ALTER TABLE pipeline.listing_history ADD COLUMN xact_id xid8 NOT NULL DEFAULT '1';
ALTER TABLE pipeline.listing_history ALTER COLUMN xact_id SET DEFAULT pg_current_xact_id();
CREATE INDEX idx_history_feed
    ON pipeline.listing_history (xact_id, target_table, target_id, version);
CREATE INDEX idx_history_changed_at ON pipeline.listing_history (changed_at);

-- The bbox filter of the catalogue API.
CREATE INDEX idx_locations_lat_lng ON public.locations (lat, lng);

-- schema.org's types for the listing: a TouristAttraction when an attribute says it is one.
CREATE FUNCTION egress.schema_type_v1(keywords TEXT[]) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM unnest(keywords) AS k
        WHERE lower(k) IN ('attraction', 'attractions', 'tourist attraction', 'museum',
                           'museums', 'gallery', 'galleries', 'park', 'parks', 'heritage',
                           'heritage site', 'historic site', 'lighthouse', 'beach', 'beaches',
                           'tour', 'tours', 'trail', 'trails', 'zoo', 'aquarium'))
    THEN 'TouristAttraction' ELSE 'LocalBusiness' END
$$;

-- Whether a listing is in the published catalogue (the view's filter; the changes feed says
-- per change whether the listing is still in it).
CREATE FUNCTION egress.is_published_v1(listing INT) RETURNS BOOLEAN
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.listings l
        WHERE l.id = listing AND l.listing_visible AND l.listing_status = 'active'
          AND EXISTS (SELECT 1 FROM public.listing_info p
                      WHERE p.listing_id = l.id AND p.info_visible AND p.info_status = 'active'))
$$;

CREATE VIEW egress.listings_v1 AS
SELECT
    l.id                                                    AS identifier,
    egress.schema_type_v1(kw.keywords)                      AS type,
    l.name                                                  AS name,
    info.first ->> 'description'                            AS description,
    nullif(concat_ws(', ', loc.address1, loc.address2), '') AS address_street_address,
    loc.city                                                AS address_locality,
    loc.state                                               AS address_region,
    loc.zip                                                 AS address_postal_code,
    loc.country::TEXT                                       AS address_country,
    loc.region                                              AS contained_in_place,
    loc.lat                                                 AS latitude,
    loc.lng                                                 AS longitude,
    info.first ->> 'telephone'                              AS telephone,
    info.first ->> 'email'                                  AS email,
    info.first ->> 'url'                                    AS url,
    info.first -> 'sameAs'                                  AS same_as,
    ARRAY(SELECT jsonb_array_elements_text(info.first -> 'image')) AS image,
    info.first -> 'openingHoursSpecification'               AS opening_hours_specification,
    kw.keywords                                             AS keywords,
    l.google_place_id                                       AS google_place_id,
    info.dmo_info                                           AS dmo_info,
    l.created_at::TIMESTAMPTZ                               AS date_created,
    coalesce(m.date_modified, l.updated_at::TIMESTAMPTZ)    AS date_modified
FROM public.listings l
LEFT JOIN public.locations loc ON loc.id = l.location_id
CROSS JOIN LATERAL (
    SELECT jsonb_agg(i.entry ORDER BY i.id) AS dmo_info,
           (array_agg(i.entry ORDER BY i.id))[1] AS first
    FROM (
        SELECT li.id, jsonb_strip_nulls(jsonb_build_object(
            'publisher', jsonb_build_object('identifier', d.id, 'name', d.name),
            'description', li.description,
            'telephone', coalesce(ci.international_phone, ci.local_phone),
            'email', ci.email,
            'url', ci.website_url,
            'sameAs', (SELECT jsonb_agg(v.value ORDER BY v.key)
                       FROM jsonb_each(CASE WHEN jsonb_typeof(ci.socials) = 'object'
                                            THEN ci.socials ELSE '{}' END) AS v
                       WHERE jsonb_typeof(v.value) = 'string'),
            'image', coalesce((SELECT jsonb_agg(im.image ORDER BY im.sort_order, im.id)
                               FROM public.listing_images im WHERE im.listing_info_id = li.id),
                              '[]'),
            -- Weekly hours (with their season when linked to one), then the seasons.
            'openingHoursSpecification',
                coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                              'dayOfWeek', (ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday',
                                                  'Friday', 'Saturday', 'Sunday'])[h.day_id],
                              'opens', to_char(h.open_time, 'HH24:MI'),
                              'closes', to_char(h.close_time, 'HH24:MI'),
                              'validFrom', od.start_date, 'validThrough', od.end_date))
                              ORDER BY h.day_id, h.open_time, h.id)
                          FROM public.opening_hours h
                          LEFT JOIN public.opening_dates od ON od.id = h.opening_date_id
                          WHERE h.listing_info_id = li.id), '[]')
                || coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                                 'validFrom', od.start_date, 'validThrough', od.end_date))
                                 ORDER BY od.start_date, od.end_date, od.id)
                             FROM public.opening_dates od WHERE od.listing_info_id = li.id),
                            '[]')
        )) AS entry
        FROM public.listing_info li
        JOIN public.dmos d ON d.id = li.dmo_id
        LEFT JOIN public.contact_info ci ON ci.id = li.contact_info_id
        WHERE li.listing_id = l.id AND li.info_visible AND li.info_status = 'active'
        OFFSET 0  -- each entry built once, not once per aggregate
    ) i
) info
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(a.name ORDER BY lower(a.name)), '{}') AS keywords
    FROM public.bridge_attributes_listings b JOIN public.attributes a ON a.id = b.attribute_id
    WHERE b.listing_id = l.id
) kw
CROSS JOIN LATERAL (
    SELECT max(h.changed_at) AS date_modified
    FROM pipeline.listing_history h
    WHERE h.listing_id = l.id AND h.change_type NOT IN ('claim', 'unclaim')
) m
WHERE egress.is_published_v1(l.id);

COMMENT ON VIEW egress.listings_v1 IS
    'Published listings under schema.org LocalBusiness/TouristAttraction names, one row per'
    ' listing (README "Egress"). Version 1: columns and meaning never change.';

INSERT INTO auth.permissions (name, description) VALUES
    ('catalogue:read', 'Read the published catalogue: listings and their changes feed');
INSERT INTO auth.roles (name, description) VALUES
    ('catalogue_reader', 'Consumers of the published catalogue API');
INSERT INTO auth.role_permissions (role_id, permission)
SELECT id, 'catalogue:read' FROM auth.roles WHERE name = 'catalogue_reader';
