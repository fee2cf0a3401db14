-- Issue 19, a first import's promotion: the create version of a new row (version 1: each
-- non-null field of its state as {"old": null, "new": value}, a listing_info's description
-- "elided") was built from its whole state, pipeline.row_states: to_jsonb of the row, which
-- decompresses the 10 KB description only to leave it out, then jsonb_each and one
-- jsonb_object_agg per row (a sub-query per row). At 10k that was ~280 ms of a 1,000-listing
-- batch's ~500 ms write_creates. Here each table's create is one jsonb_build_object of its
-- history fields (pipeline.history_state's: the columns without ids, audit columns and hashes)
-- minus the null ones, children aggregated as row_states does: the same JSON, ~110 ms.
-- A column added to one of these tables must be added here too:
-- test_promotion_speed.py compares this with the generic create over rows with every column set.
-- The body names a column of migration 100 (externally_managed), which a new database gets
-- after this one (one already past 100 gets this one last): it is checked when first called
-- (and only this function: the setting is reset after it).
SET LOCAL check_function_bodies = off;
CREATE FUNCTION pipeline.create_versions(listing_ids INT[], location_ids INT[], info_ids INT[],
                                         contact_ids INT[])
RETURNS TABLE (target_table TEXT, target_id INT, changes JSONB)
LANGUAGE sql STABLE AS $$
    WITH attributes AS (
        SELECT b.listing_id, jsonb_agg(a.name ORDER BY lower(a.name)) AS names
        FROM public.bridge_attributes_listings b JOIN public.attributes a ON a.id = b.attribute_id
        WHERE b.listing_id = ANY(listing_ids) GROUP BY b.listing_id
    ), images AS (
        SELECT listing_info_id, jsonb_agg(image ORDER BY sort_order, id) AS images
        FROM public.listing_images WHERE listing_info_id = ANY(info_ids) GROUP BY listing_info_id
    ), dates AS (
        SELECT listing_info_id,
               jsonb_agg(jsonb_build_object('start_date', start_date, 'end_date', end_date)
                         ORDER BY start_date, end_date) AS dates
        FROM public.opening_dates WHERE listing_info_id = ANY(info_ids) GROUP BY listing_info_id
    ), hours AS (
        SELECT listing_info_id,
               jsonb_agg(jsonb_build_object('day_id', day_id, 'open_time', open_time,
                                            'close_time', close_time)
                         ORDER BY day_id, open_time, close_time) AS hours
        FROM public.opening_hours WHERE listing_info_id = ANY(info_ids) GROUP BY listing_info_id
    )
    SELECT 'listings', l.id, jsonb_build_object(
               'name', jsonb_build_object('old', NULL, 'new', l.name),
               'google_place_id', jsonb_build_object('old', NULL, 'new', l.google_place_id),
               'location_id', jsonb_build_object('old', NULL, 'new', l.location_id),
               'listing_status', jsonb_build_object('old', NULL, 'new', l.listing_status),
               'listing_visible', jsonb_build_object('old', NULL, 'new', l.listing_visible),
               'claimed', jsonb_build_object('old', NULL, 'new', l.claimed),
               'origin_deleted', jsonb_build_object('old', NULL, 'new', l.origin_deleted),
               'externally_managed', jsonb_build_object('old', NULL, 'new', l.externally_managed),
               'attributes', jsonb_build_object('old', NULL, 'new', coalesce(a.names, '[]')))
           - ARRAY[CASE WHEN l.name IS NULL THEN 'name' END,
                   CASE WHEN l.google_place_id IS NULL THEN 'google_place_id' END,
                   CASE WHEN l.location_id IS NULL THEN 'location_id' END,
                   CASE WHEN l.listing_status IS NULL THEN 'listing_status' END,
                   CASE WHEN l.listing_visible IS NULL THEN 'listing_visible' END,
                   CASE WHEN l.claimed IS NULL THEN 'claimed' END,
                   CASE WHEN l.origin_deleted IS NULL THEN 'origin_deleted' END,
                   CASE WHEN l.externally_managed IS NULL THEN 'externally_managed' END]
    FROM public.listings l LEFT JOIN attributes a ON a.listing_id = l.id
    WHERE l.id = ANY(listing_ids)
    UNION ALL
    SELECT 'listing_info', li.id, jsonb_build_object(
               'listing_id', jsonb_build_object('old', NULL, 'new', li.listing_id),
               'dmo_id', jsonb_build_object('old', NULL, 'new', li.dmo_id),
               'contact_info_id', jsonb_build_object('old', NULL, 'new', li.contact_info_id),
               'description', '{"old": null, "elided": true}'::JSONB,
               'info_status', jsonb_build_object('old', NULL, 'new', li.info_status),
               'info_visible', jsonb_build_object('old', NULL, 'new', li.info_visible),
               'origin_deleted', jsonb_build_object('old', NULL, 'new', li.origin_deleted),
               'images', jsonb_build_object('old', NULL, 'new', coalesce(i.images, '[]')),
               'opening_dates', jsonb_build_object('old', NULL, 'new', coalesce(d.dates, '[]')),
               'opening_hours', jsonb_build_object('old', NULL, 'new', coalesce(h.hours, '[]')))
           - ARRAY[CASE WHEN li.listing_id IS NULL THEN 'listing_id' END,
                   CASE WHEN li.dmo_id IS NULL THEN 'dmo_id' END,
                   CASE WHEN li.contact_info_id IS NULL THEN 'contact_info_id' END,
                   CASE WHEN li.description IS NULL THEN 'description' END,
                   CASE WHEN li.info_status IS NULL THEN 'info_status' END,
                   CASE WHEN li.info_visible IS NULL THEN 'info_visible' END,
                   CASE WHEN li.origin_deleted IS NULL THEN 'origin_deleted' END]
    FROM public.listing_info li
    LEFT JOIN images i ON i.listing_info_id = li.id
    LEFT JOIN dates d ON d.listing_info_id = li.id
    LEFT JOIN hours h ON h.listing_info_id = li.id
    WHERE li.id = ANY(info_ids)
    UNION ALL
    SELECT 'locations', x.id, jsonb_build_object(
               'address1', jsonb_build_object('old', NULL, 'new', x.address1),
               'address2', jsonb_build_object('old', NULL, 'new', x.address2),
               'region', jsonb_build_object('old', NULL, 'new', x.region),
               'city', jsonb_build_object('old', NULL, 'new', x.city),
               'state', jsonb_build_object('old', NULL, 'new', x.state),
               'zip', jsonb_build_object('old', NULL, 'new', x.zip),
               'country', jsonb_build_object('old', NULL, 'new', x.country),
               'lat', jsonb_build_object('old', NULL, 'new', x.lat),
               'lng', jsonb_build_object('old', NULL, 'new', x.lng))
           - ARRAY[CASE WHEN x.address1 IS NULL THEN 'address1' END,
                   CASE WHEN x.address2 IS NULL THEN 'address2' END,
                   CASE WHEN x.region IS NULL THEN 'region' END,
                   CASE WHEN x.city IS NULL THEN 'city' END,
                   CASE WHEN x.state IS NULL THEN 'state' END,
                   CASE WHEN x.zip IS NULL THEN 'zip' END,
                   CASE WHEN x.country IS NULL THEN 'country' END,
                   CASE WHEN x.lat IS NULL THEN 'lat' END,
                   CASE WHEN x.lng IS NULL THEN 'lng' END]
    FROM public.locations x WHERE x.id = ANY(location_ids)
    UNION ALL
    SELECT 'contact_info', x.id, jsonb_build_object(
               'name', jsonb_build_object('old', NULL, 'new', x.name),
               'email', jsonb_build_object('old', NULL, 'new', x.email),
               'local_phone', jsonb_build_object('old', NULL, 'new', x.local_phone),
               'international_phone', jsonb_build_object('old', NULL, 'new', x.international_phone),
               'website_url', jsonb_build_object('old', NULL, 'new', x.website_url),
               'socials', jsonb_build_object('old', NULL, 'new', x.socials))
           - ARRAY[CASE WHEN x.name IS NULL THEN 'name' END,
                   CASE WHEN x.email IS NULL THEN 'email' END,
                   CASE WHEN x.local_phone IS NULL THEN 'local_phone' END,
                   CASE WHEN x.international_phone IS NULL THEN 'international_phone' END,
                   CASE WHEN x.website_url IS NULL THEN 'website_url' END,
                   CASE WHEN x.socials IS NULL OR x.socials = 'null' THEN 'socials' END]
    FROM public.contact_info x WHERE x.id = ANY(contact_ids)
$$;
RESET check_function_bodies;
