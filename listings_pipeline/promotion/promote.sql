-- Promotion of one batch of stage rows (:ids), all in one transaction (seed 000 step 5).
-- New production ids are drawn from the sequences into the stage row first, so every later
-- statement joins stage → production by id, and a re-run after a crash starts from the same
-- stage state (the id draws roll back with the batch).

-- name: mark_skipped
-- Rows that change nothing in production: approved all-skip rows already linked by the bridge,
-- duplicates, rows with validation errors and rejected rows.
UPDATE stage.listings_flat s SET promote_status = 'skipped', promoted_at = now()
WHERE s.job_id = :job_id AND s.promote_status = 'pending'
  AND (s.duplicate_of IS NOT NULL OR s.listing_action = 'error' OR s.review_status = 'rejected'
       OR (s.ok_to_promote AND s.match_method = 'bridge'
           AND s.listing_action = 'skip' AND s.listing_info_action = 'skip'
           AND s.location_action = 'skip' AND s.contact_info_action = 'skip'
           AND s.images_action = 'skip' AND s.opening_dates_action = 'skip'
           AND s.opening_hours_action = 'skip' AND s.attributes_action = 'skip'));

-- name: next_batch
SELECT id FROM stage.listings_flat
WHERE job_id = :job_id AND promote_status = 'pending' AND ok_to_promote
ORDER BY id LIMIT :limit;

-- name: allocate_ids
UPDATE stage.listings_flat s SET
    listing_internal_id = CASE WHEN s.listing_action = 'insert' AND s.listing_internal_id IS NULL
                               THEN nextval('public.listings_id_seq') ELSE s.listing_internal_id END,
    location_internal_id = CASE WHEN s.location_action = 'insert' AND s.location_internal_id IS NULL
                                THEN nextval('public.locations_id_seq') ELSE s.location_internal_id END,
    listing_info_internal_id = CASE
        WHEN s.listing_info_action = 'insert' AND s.listing_info_internal_id IS NULL
        THEN nextval('public.listing_info_id_seq') ELSE s.listing_info_internal_id END,
    contact_info_internal_id = CASE
        WHEN s.contact_info_action = 'insert' AND s.contact_info_internal_id IS NULL
        THEN nextval('public.contact_info_id_seq') ELSE s.contact_info_internal_id END
WHERE s.id = ANY(:ids);

-- name: insert_locations
INSERT INTO public.locations (id, address1, address2, region, city, state, zip, country, lat, lng,
    location_content_hash, imported_from, promoted_at, promoted_by)
SELECT s.location_internal_id, s.loc_address1, s.loc_address2, s.loc_region, s.loc_city,
       s.loc_state, s.loc_zip, s.loc_country, s.loc_lat, s.loc_lng, s.location_content_hash,
       s.imported_from, now(), :by
FROM stage.listings_flat s WHERE s.id = ANY(:ids) AND s.location_action = 'insert';

-- name: update_locations
UPDATE public.locations p SET
    address1 = pipeline.merge_value('address1', p.manually_modified_fields, s.force_overwrite, :policy, p.address1, s.loc_address1::TEXT),
    address2 = pipeline.merge_value('address2', p.manually_modified_fields, s.force_overwrite, :policy, p.address2, s.loc_address2::TEXT),
    region = pipeline.merge_value('region', p.manually_modified_fields, s.force_overwrite, :policy, p.region, s.loc_region::TEXT),
    city = pipeline.merge_value('city', p.manually_modified_fields, s.force_overwrite, :policy, p.city, s.loc_city::TEXT),
    state = pipeline.merge_value('state', p.manually_modified_fields, s.force_overwrite, :policy, p.state, s.loc_state::TEXT),
    zip = pipeline.merge_value('zip', p.manually_modified_fields, s.force_overwrite, :policy, p.zip, s.loc_zip::TEXT),
    country = pipeline.merge_value('country', p.manually_modified_fields, s.force_overwrite, :policy, p.country, s.loc_country),
    lat = pipeline.merge_value('lat', p.manually_modified_fields, s.force_overwrite, :policy, p.lat, s.loc_lat),
    lng = pipeline.merge_value('lng', p.manually_modified_fields, s.force_overwrite, :policy, p.lng, s.loc_lng),
    location_content_hash = s.location_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.location_action = 'update' AND p.id = s.location_internal_id;

-- name: insert_listings
INSERT INTO public.listings (id, name, google_place_id, location_id, listing_status,
    listing_visible, listing_match_hash, listing_content_hash, attributes_content_hash,
    imported_from, promoted_at, promoted_by)
SELECT s.listing_internal_id, s.listing_name, s.listing_google_place_id, s.location_internal_id,
       coalesce(s.listing_status, 'active'), coalesce(s.listing_visible, true),
       s.listing_match_hash, s.listing_content_hash, s.attributes_content_hash,
       s.imported_from, now(), :by
FROM stage.listings_flat s WHERE s.id = ANY(:ids) AND s.listing_action = 'insert';

-- name: update_listings
-- A listing that comes back after a soft delete is reactivated.
UPDATE public.listings p SET
    name = pipeline.merge_value('name', p.manually_modified_fields, s.force_overwrite, :policy, p.name, coalesce(s.listing_name::TEXT, p.name)),
    google_place_id = pipeline.merge_value('google_place_id', p.manually_modified_fields, s.force_overwrite, :policy, p.google_place_id, s.listing_google_place_id::TEXT),
    listing_status = CASE WHEN p.listing_status = 'missing_from_import' THEN coalesce(s.listing_status, 'active')
        ELSE pipeline.merge_value('listing_status', p.manually_modified_fields, s.force_overwrite, :policy, p.listing_status, coalesce(s.listing_status, p.listing_status)) END,
    listing_visible = CASE WHEN p.listing_status = 'missing_from_import' THEN coalesce(s.listing_visible, true)
        ELSE pipeline.merge_value('listing_visible', p.manually_modified_fields, s.force_overwrite, :policy, p.listing_visible, coalesce(s.listing_visible, p.listing_visible)) END,
    listing_match_hash = s.listing_match_hash,
    listing_content_hash = s.listing_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.listing_action = 'update' AND p.id = s.listing_internal_id;

-- name: link_new_locations
-- An existing listing that had no location gets the one inserted for it.
UPDATE public.listings p SET location_id = s.location_internal_id, updated_at = now()
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.location_action = 'insert' AND s.listing_action <> 'insert'
  AND p.id = s.listing_internal_id AND p.location_id IS DISTINCT FROM s.location_internal_id;

-- name: insert_attributes
INSERT INTO public.attributes (name)
SELECT DISTINCT ON (lower(a.name)) a.name
FROM stage.listings_flat s CROSS JOIN LATERAL jsonb_array_elements_text(s.attributes) AS a(name)
WHERE s.id = ANY(:ids) AND s.attributes_action IN ('insert', 'update')
ORDER BY lower(a.name), a.name
ON CONFLICT ((lower(name))) DO NOTHING;

-- name: clear_attribute_links
-- A statement of its own: the parts of one WITH run on one snapshot in no set order, so a DELETE
-- beside the INSERT left the rows that a listing's kept attributes then collided with.
DELETE FROM public.bridge_attributes_listings b
USING stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.attributes_action IN ('insert', 'update')
  AND b.listing_id = s.listing_internal_id;

-- name: replace_attribute_links
WITH targets AS (
    SELECT s.listing_internal_id AS listing_id, s.attributes, s.attributes_content_hash,
           s.imported_from
    FROM stage.listings_flat s
    WHERE s.id = ANY(:ids) AND s.attributes_action IN ('insert', 'update')
), hashed AS (
    UPDATE public.listings p SET attributes_content_hash = t.attributes_content_hash
    FROM targets t WHERE p.id = t.listing_id
)
INSERT INTO public.bridge_attributes_listings (listing_id, attribute_id, imported_from, promoted_at, promoted_by)
SELECT DISTINCT t.listing_id, a.id, t.imported_from, now(), :by
FROM targets t CROSS JOIN LATERAL jsonb_array_elements_text(t.attributes) AS n(name)
JOIN public.attributes a ON lower(a.name) = lower(n.name);

-- name: insert_contact_info
INSERT INTO public.contact_info (id, name, email, local_phone, international_phone, website_url,
    socials, contact_info_content_hash, imported_from, promoted_at, promoted_by)
SELECT s.contact_info_internal_id, s.ci_name, s.ci_email, s.ci_local_phone,
       s.ci_international_phone, s.ci_website_url, s.ci_socials, s.contact_info_content_hash,
       s.imported_from, now(), :by
FROM stage.listings_flat s WHERE s.id = ANY(:ids) AND s.contact_info_action = 'insert';

-- name: update_contact_info
UPDATE public.contact_info p SET
    name = pipeline.merge_value('name', p.manually_modified_fields, s.force_overwrite, :policy, p.name, s.ci_name::TEXT),
    email = pipeline.merge_value('email', p.manually_modified_fields, s.force_overwrite, :policy, p.email, s.ci_email::TEXT),
    local_phone = pipeline.merge_value('local_phone', p.manually_modified_fields, s.force_overwrite, :policy, p.local_phone, s.ci_local_phone::TEXT),
    international_phone = pipeline.merge_value('international_phone', p.manually_modified_fields, s.force_overwrite, :policy, p.international_phone, s.ci_international_phone::TEXT),
    website_url = pipeline.merge_value('website_url', p.manually_modified_fields, s.force_overwrite, :policy, p.website_url, s.ci_website_url::TEXT),
    socials = pipeline.merge_value('socials', p.manually_modified_fields, s.force_overwrite, :policy, p.socials, s.ci_socials),
    contact_info_content_hash = s.contact_info_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.contact_info_action = 'update' AND p.id = s.contact_info_internal_id;

-- name: insert_listing_info
INSERT INTO public.listing_info (id, listing_id, dmo_id, contact_info_id, description, info_status,
    info_visible, listing_info_content_hash, images_content_hash, imported_from, promoted_at,
    promoted_by)
SELECT s.listing_info_internal_id, s.listing_internal_id, s.dmo_id, s.contact_info_internal_id,
       s.listing_info_description, coalesce(s.info_status, 'active'), coalesce(s.info_visible, true),
       s.listing_info_content_hash, s.images_content_hash, s.imported_from, now(), :by
FROM stage.listings_flat s WHERE s.id = ANY(:ids) AND s.listing_info_action = 'insert';

-- name: update_listing_info
UPDATE public.listing_info p SET
    description = pipeline.merge_value('description', p.manually_modified_fields, s.force_overwrite, :policy, p.description, s.listing_info_description),
    info_status = CASE WHEN p.info_status = 'missing_from_import' THEN coalesce(s.info_status, 'active')
        ELSE pipeline.merge_value('info_status', p.manually_modified_fields, s.force_overwrite, :policy, p.info_status, coalesce(s.info_status, p.info_status)) END,
    info_visible = CASE WHEN p.info_status = 'missing_from_import' THEN coalesce(s.info_visible, true)
        ELSE pipeline.merge_value('info_visible', p.manually_modified_fields, s.force_overwrite, :policy, p.info_visible, coalesce(s.info_visible, p.info_visible)) END,
    listing_info_content_hash = s.listing_info_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.listing_info_action = 'update' AND p.id = s.listing_info_internal_id;

-- name: link_new_contact_info
UPDATE public.listing_info p SET contact_info_id = s.contact_info_internal_id
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.contact_info_action = 'insert' AND s.listing_info_action <> 'insert'
  AND p.id = s.listing_info_internal_id
  AND p.contact_info_id IS DISTINCT FROM s.contact_info_internal_id;

-- name: replace_images
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.images, s.images_content_hash, s.imported_from
    FROM stage.listings_flat s
    WHERE s.id = ANY(:ids) AND s.images_action IN ('insert', 'update')
), cleared AS (
    DELETE FROM public.listing_images i USING targets t WHERE i.listing_info_id = t.info_id
), hashed AS (
    UPDATE public.listing_info p SET images_content_hash = t.images_content_hash
    FROM targets t WHERE p.id = t.info_id
)
INSERT INTO public.listing_images (listing_info_id, image, sort_order, imported_from, promoted_at, promoted_by)
SELECT t.info_id, e.image, e.n, t.imported_from, now(), :by
FROM targets t
CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(t.images, '[]')) WITH ORDINALITY AS e(image, n);

-- name: replace_opening_dates
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.dates, s.opening_dates_content_hash, s.imported_from
    FROM stage.listings_flat s
    WHERE s.id = ANY(:ids) AND s.opening_dates_action IN ('insert', 'update')
), cleared AS (
    DELETE FROM public.opening_dates d USING targets t WHERE d.listing_info_id = t.info_id
)
INSERT INTO public.opening_dates (listing_info_id, start_date, end_date, opening_dates_content_hash,
                                  imported_from, promoted_at, promoted_by)
SELECT t.info_id, (d ->> 'start_date')::DATE, (d ->> 'end_date')::DATE,
       t.opening_dates_content_hash, t.imported_from, now(), :by
FROM targets t CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.dates, '[]')) AS d;

-- name: replace_opening_hours
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.hours, s.opening_hours_content_hash, s.imported_from
    FROM stage.listings_flat s
    WHERE s.id = ANY(:ids) AND s.opening_hours_action IN ('insert', 'update')
), cleared AS (
    DELETE FROM public.opening_hours h USING targets t WHERE h.listing_info_id = t.info_id
)
INSERT INTO public.opening_hours (listing_info_id, day_id, open_time, close_time,
                                  opening_hours_content_hash, imported_from, promoted_at, promoted_by)
SELECT t.info_id, (h ->> 'day_id')::SMALLINT, (h ->> 'open_time')::TIME, (h ->> 'close_time')::TIME,
       t.opening_hours_content_hash, t.imported_from, now(), :by
FROM targets t CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.hours, '[]')) AS h;

-- name: soft_delete
WITH infos AS (
    UPDATE public.listing_info p
    SET info_visible = false, info_status = 'missing_from_import', updated_at = now(),
        promoted_at = now(), promoted_by = :by
    FROM stage.listings_flat s
    WHERE s.id = ANY(:ids) AND s.listing_info_action = 'delete' AND p.id = s.listing_info_internal_id
)
UPDATE public.listings p
SET listing_visible = false, listing_status = 'missing_from_import', updated_at = now(),
    promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.listing_action = 'delete' AND p.id = s.listing_internal_id;

-- name: upsert_bridge
-- Several sources may map to one listing; one source maps to one listing_info.
INSERT INTO pipeline.bridge_source_target AS b (dmo_id, source_id, target_id, target_type,
                                               certainty_score, match_method)
SELECT s.dmo_id, s.source_id, t.target_id, t.target_type, coalesce(s.match_score, 1),
       CASE WHEN s.match_method IN ('none', 'bridge') OR s.match_method IS NULL THEN 'source'
            ELSE s.match_method END
FROM stage.listings_flat s
CROSS JOIN LATERAL (VALUES ('listings'::pipeline.target_type, s.listing_internal_id),
                           ('listing_info'::pipeline.target_type, s.listing_info_internal_id))
    AS t(target_type, target_id)
WHERE s.id = ANY(:ids) AND s.listing_action <> 'delete' AND s.listing_info_action <> 'delete'
  AND t.target_id IS NOT NULL
ON CONFLICT (dmo_id, source_id, target_type) DO UPDATE
SET target_id = EXCLUDED.target_id, certainty_score = EXCLUDED.certainty_score,
    match_method = EXCLUDED.match_method, mapped_at = now()
WHERE b.target_id IS DISTINCT FROM EXCLUDED.target_id;

-- name: mark_promoted
UPDATE stage.listings_flat SET promote_status = 'succeeded', promoted_at = now(), updated_at = now()
WHERE id = ANY(:ids);

-- name: newer_job
-- A newer job of the same source that got past its transform supersedes this one.
SELECT j.id FROM pipeline.jobs j
JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform' AND t.status = 'completed'
WHERE j.slug = :slug AND j.id > :job_id AND j.status <> 'failed'
ORDER BY j.id DESC LIMIT 1;

-- name: waiting_rows
SELECT coalesce(review_reason, 'other') AS kind, count(*) AS n FROM stage.listings_flat
WHERE job_id = :job_id AND review_status = 'pending' GROUP BY 1 ORDER BY 1;

-- name: promote_counts
SELECT
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'insert') AS new,
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'update') AS updated,
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'delete') AS deleted,
    count(*) FILTER (WHERE change_kind = 'duplicate') AS duplicates,
    count(*) FILTER (WHERE promote_status IN ('skipped', 'succeeded') AND change_kind = 'skip') AS unchanged,
    count(*) FILTER (WHERE promote_status = 'failed' OR change_kind = 'error') AS failed,
    count(*) FILTER (WHERE validation_warnings IS NOT NULL) AS warning,
    count(*) AS total,
    count(*) FILTER (WHERE promote_status = 'succeeded') AS promoted,
    count(*) FILTER (WHERE promote_status = 'skipped') AS skipped,
    count(*) FILTER (WHERE promote_status = 'pending') AS pending
FROM stage.listings_flat WHERE job_id = :job_id;
