-- Promotion of one batch of stage rows (:ids), all in one transaction (seed 000 step 5).
-- New production ids are drawn from the sequences into the stage row first, so every later
-- statement joins stage → production by id, and a re-run after a crash starts from the same
-- stage state (the id draws roll back with the batch).
-- Per batch, temp tables (emptied at commit) hold what the statements share:
--   promote_rows     per stage row: is the record claimed, which columns must keep their value;
--   promote_targets  per production row the batch touches: its state before the batch, for
--                    the history (one version per row per batch, children included).

-- name: create_batch_tables
CREATE TEMP TABLE promote_rows (
    stage_id      INT PRIMARY KEY,
    claimed       BOOLEAN NOT NULL,  -- claimed or owned: a deletion at the source only flags it
    listing_keep  TEXT[] NOT NULL,
    location_keep TEXT[] NOT NULL,
    info_keep     TEXT[] NOT NULL,
    contact_keep  TEXT[] NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE promote_targets (
    target_table  TEXT NOT NULL,
    target_id     INT NOT NULL,
    listing_id    INT,
    stage_id      INT,
    is_new        BOOLEAN NOT NULL DEFAULT false, -- inserted by this batch: no state before
    job_id        INT,
    reviewer      TEXT NOT NULL,
    reason        TEXT,
    note          TEXT,  -- the stage row's reviewer notes for change_reason (collect_targets)
    before        JSONB STORAGE EXTERNAL, -- not compressed: read back once in this transaction
    change_type   TEXT,
    PRIMARY KEY (target_table, target_id)
) ON COMMIT DELETE ROWS;

-- name: batch_tables_exist
SELECT to_regclass('pg_temp.promote_targets') IS NOT NULL;

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
-- SKIP LOCKED: a second promoter of the same job takes other rows instead of colliding.
-- After the previous batch's last id (:after): the pending index keeps the entries of rows
-- promoted by earlier batches until a vacuum, and a scan from the job's first id stepped over
-- all of them, batch after batch (quadratic: 5.6 s of next_batch at 100k, 0.6 s at 50k).
SELECT id FROM stage.listings_flat
WHERE job_id = :job_id AND promote_status = 'pending' AND ok_to_promote AND id > :after
ORDER BY id LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: batch_actions
-- Which kinds of writes the batch has: a statement with nothing to do is not sent (each one
-- costs a scan of the batch's stage rows even when it writes nothing).
SELECT bool_or(location_action = 'insert') AS location_insert,
       bool_or(location_action = 'update') AS location_update,
       bool_or(listing_action = 'insert') AS listing_insert,
       bool_or(listing_action = 'update') AS listing_update,
       bool_or(attributes_action IN ('insert', 'update')) AS attributes,
       bool_or(contact_info_action = 'insert') AS contact_insert,
       bool_or(contact_info_action = 'update') AS contact_update,
       bool_or(listing_info_action = 'insert') AS info_insert,
       bool_or(listing_info_action = 'update') AS info_update,
       bool_or(images_action IN ('insert', 'update')) AS images,
       bool_or(opening_dates_action IN ('insert', 'update')) AS dates,
       bool_or(opening_hours_action IN ('insert', 'update')) AS hours,
       bool_or(listing_action = 'delete' OR listing_info_action = 'delete') AS deletes
FROM stage.listings_flat WHERE id = ANY(:ids);

-- name: allocate_ids
-- Drawn in stage-row order (volatile expressions are evaluated after ORDER BY), so ids follow
-- the import order whatever plan runs this, and a re-run after a crash assigns them alike.
-- The rows are marked promoted in the same write (one new version of each wide stage row, not
-- two): the batch commits or rolls back as a whole, so a crash leaves them pending.
WITH drawn AS (
    SELECT s.id,
        CASE WHEN s.listing_action = 'insert' AND s.listing_internal_id IS NULL
             THEN nextval('public.listings_id_seq') ELSE s.listing_internal_id END AS listing_id,
        CASE WHEN s.location_action = 'insert' AND s.location_internal_id IS NULL
             THEN nextval('public.locations_id_seq') ELSE s.location_internal_id END AS location_id,
        CASE WHEN s.listing_info_action = 'insert' AND s.listing_info_internal_id IS NULL
             THEN nextval('public.listing_info_id_seq') ELSE s.listing_info_internal_id END AS info_id,
        CASE WHEN s.contact_info_action = 'insert' AND s.contact_info_internal_id IS NULL
             THEN nextval('public.contact_info_id_seq') ELSE s.contact_info_internal_id END AS contact_id
    FROM stage.listings_flat s WHERE s.id = ANY(:ids)
    ORDER BY s.id
)
UPDATE stage.listings_flat s SET listing_internal_id = d.listing_id,
    location_internal_id = d.location_id, listing_info_internal_id = d.info_id,
    contact_info_internal_id = d.contact_id,
    promote_status = 'succeeded', promoted_at = now(), updated_at = now()
FROM drawn d WHERE d.id = s.id;

-- name: collect_targets
-- Every production row the batch may write, attributed to the first stage row that writes it.
-- The row's reviewer notes, which each version's change_reason ends with, are taken here, once
-- per row (write_creates and write_history read them from promote_targets instead of probing
-- the wide stage row again for each of its up to four versions). NULL when there are none, so
-- concat_ws leaves them out as it left out the NULL columns.
INSERT INTO promote_targets (target_table, target_id, listing_id, stage_id, is_new, job_id,
                             reviewer, note)
SELECT DISTINCT ON (t.target_table, t.target_id)
       t.target_table, t.target_id, s.listing_internal_id, s.id, t.is_new, s.job_id,
       coalesce(s.reviewed_by, 'auto'),
       CASE WHEN s.match_method = 'reviewer' OR s.force_overwrite OR s.review_note IS NOT NULL
            THEN concat_ws('; ',
                CASE WHEN s.match_method = 'reviewer' THEN 'reviewer accepted the suggested match' END,
                CASE WHEN s.force_overwrite THEN 'reviewer overrode manual edits' END,
                s.review_note) END
FROM stage.listings_flat s
CROSS JOIN LATERAL (VALUES
    ('listings', s.listing_internal_id, s.listing_action = 'insert',
     s.listing_action IN ('insert', 'update', 'delete') OR s.attributes_action IN ('insert', 'update')
     OR s.location_action = 'insert'),
    ('locations', s.location_internal_id, s.location_action = 'insert',
     s.location_action IN ('insert', 'update')),
    ('listing_info', s.listing_info_internal_id, s.listing_info_action = 'insert',
     s.listing_info_action IN ('insert', 'update', 'delete') OR s.contact_info_action = 'insert'
     OR s.images_action IN ('insert', 'update') OR s.opening_dates_action IN ('insert', 'update')
     OR s.opening_hours_action IN ('insert', 'update')),
    ('contact_info', s.contact_info_internal_id, s.contact_info_action = 'insert',
     s.contact_info_action IN ('insert', 'update'))
) AS t(target_table, target_id, is_new, touched)
WHERE s.id = ANY(:ids) AND t.touched AND t.target_id IS NOT NULL
ORDER BY t.target_table, t.target_id, s.id;

-- name: lock_targets
-- The state read next must be the one this batch changes, even if another promotion of a
-- shared listing commits in between (ordered: no deadlock between two promoters).
SELECT
    (SELECT count(*) FROM (SELECT 1 FROM public.listings p JOIN promote_targets t
                           ON t.target_table = 'listings' AND t.target_id = p.id
                           ORDER BY p.id FOR UPDATE OF p) a),
    (SELECT count(*) FROM (SELECT 1 FROM public.locations p JOIN promote_targets t
                           ON t.target_table = 'locations' AND t.target_id = p.id
                           ORDER BY p.id FOR UPDATE OF p) b),
    (SELECT count(*) FROM (SELECT 1 FROM public.listing_info p JOIN promote_targets t
                           ON t.target_table = 'listing_info' AND t.target_id = p.id
                           ORDER BY p.id FOR UPDATE OF p) c),
    (SELECT count(*) FROM (SELECT 1 FROM public.contact_info p JOIN promote_targets t
                           ON t.target_table = 'contact_info' AND t.target_id = p.id
                           ORDER BY p.id FOR UPDATE OF p) d);

-- name: states_before
-- (The id arrays go in as a lateral row so that row_states is inlined into this query.)
WITH ids AS (
    SELECT array_agg(target_id) FILTER (WHERE target_table = 'listings') AS listings,
           array_agg(target_id) FILTER (WHERE target_table = 'locations') AS locations,
           array_agg(target_id) FILTER (WHERE target_table = 'listing_info') AS infos,
           array_agg(target_id) FILTER (WHERE target_table = 'contact_info') AS contacts
    FROM promote_targets WHERE NOT is_new
)
UPDATE promote_targets t SET before = r.state
FROM ids CROSS JOIN LATERAL pipeline.row_states(ids.listings, ids.locations, ids.infos,
                                                ids.contacts) AS r
WHERE r.target_table = t.target_table AND r.target_id = t.target_id;

-- name: batch_policy
-- Seed 003 conflict resolution. A record is claimed once a person took it over
-- (listings.claimed; catalogue/claims.py), owned when people manage it outright
-- (externally_managed = false). Each *_keep array lists the columns that keep their production
-- value: the ones a person edited, plus what the claim policy protects (everything for an
-- owned record or skip_if_exists). A reviewer's force_overwrite lifts all of it
-- (pipeline.merge_value), deletions included.
-- Each production row is read by a primary-key probe (LATERAL … OFFSET 0): joined plainly, the
-- planner hashed all four production tables for every batch, O(catalogue) per batch and so
-- quadratic over a first import that grows them batch by batch.
INSERT INTO promote_rows (stage_id, claimed, listing_keep, location_keep, info_keep, contact_keep)
SELECT s.id, (c.claimed OR c.owned) AND NOT s.force_overwrite,
       coalesce(l.manually_modified_fields, '{}') || CASE
           WHEN :skip_existing OR c.owned THEN CAST(:all_listings AS TEXT[])
           WHEN c.claimed THEN CAST(:claim_listings AS TEXT[]) ELSE '{}' END,
       coalesce(loc.manually_modified_fields, '{}') || CASE
           WHEN :skip_existing OR c.owned THEN CAST(:all_locations AS TEXT[])
           WHEN c.claimed THEN CAST(:claim_locations AS TEXT[]) ELSE '{}' END,
       coalesce(li.manually_modified_fields, '{}') || CASE
           WHEN :skip_existing OR c.owned THEN CAST(:all_listing_info AS TEXT[])
           WHEN c.claimed THEN CAST(:claim_listing_info AS TEXT[]) ELSE '{}' END,
       coalesce(ci.manually_modified_fields, '{}') || CASE
           WHEN :skip_existing OR c.owned THEN CAST(:all_contact_info AS TEXT[])
           WHEN c.claimed THEN CAST(:claim_contact_info AS TEXT[]) ELSE '{}' END
FROM stage.listings_flat s
LEFT JOIN LATERAL (SELECT p.manually_modified_fields, p.claimed, p.externally_managed
                   FROM public.listings p WHERE p.id = s.listing_internal_id OFFSET 0) l ON true
LEFT JOIN LATERAL (SELECT p.manually_modified_fields FROM public.locations p
                   WHERE p.id = s.location_internal_id OFFSET 0) loc ON true
LEFT JOIN LATERAL (SELECT p.manually_modified_fields FROM public.listing_info p
                   WHERE p.id = s.listing_info_internal_id OFFSET 0) li ON true
LEFT JOIN LATERAL (SELECT p.manually_modified_fields FROM public.contact_info p
                   WHERE p.id = s.contact_info_internal_id OFFSET 0) ci ON true
CROSS JOIN LATERAL (
    SELECT coalesce(l.claimed, false) AS claimed,
           NOT coalesce(l.externally_managed, true) AS owned) c
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
    address1 = pipeline.merge_value('address1', k.location_keep, s.force_overwrite, :policy, p.address1, s.loc_address1::TEXT),
    address2 = pipeline.merge_value('address2', k.location_keep, s.force_overwrite, :policy, p.address2, s.loc_address2::TEXT),
    region = pipeline.merge_value('region', k.location_keep, s.force_overwrite, :policy, p.region, s.loc_region::TEXT),
    city = pipeline.merge_value('city', k.location_keep, s.force_overwrite, :policy, p.city, s.loc_city::TEXT),
    state = pipeline.merge_value('state', k.location_keep, s.force_overwrite, :policy, p.state, s.loc_state::TEXT),
    zip = pipeline.merge_value('zip', k.location_keep, s.force_overwrite, :policy, p.zip, s.loc_zip::TEXT),
    country = pipeline.merge_value('country', k.location_keep, s.force_overwrite, :policy, p.country, s.loc_country),
    lat = pipeline.merge_value('lat', k.location_keep, s.force_overwrite, :policy, p.lat, s.loc_lat),
    lng = pipeline.merge_value('lng', k.location_keep, s.force_overwrite, :policy, p.lng, s.loc_lng),
    location_content_hash = s.location_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
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
-- A listing that comes back after a soft delete is reactivated; one the source had deleted
-- (flag only) is no longer flagged.
UPDATE public.listings p SET
    name = pipeline.merge_value('name', k.listing_keep, s.force_overwrite, :policy, p.name, coalesce(s.listing_name::TEXT, p.name)),
    google_place_id = pipeline.merge_value('google_place_id', k.listing_keep, s.force_overwrite, :policy, p.google_place_id, s.listing_google_place_id::TEXT),
    listing_status = CASE WHEN p.listing_status = 'missing_from_import' THEN coalesce(s.listing_status, 'active')
        ELSE pipeline.merge_value('listing_status', k.listing_keep, s.force_overwrite, :policy, p.listing_status, coalesce(s.listing_status, p.listing_status)) END,
    listing_visible = CASE WHEN p.listing_status = 'missing_from_import' THEN coalesce(s.listing_visible, true)
        ELSE pipeline.merge_value('listing_visible', k.listing_keep, s.force_overwrite, :policy, p.listing_visible, coalesce(s.listing_visible, p.listing_visible)) END,
    origin_deleted = false,
    listing_match_hash = s.listing_match_hash,
    listing_content_hash = s.listing_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
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
-- Collections are replaced whole, unless the claim policy keeps them; the hash always records
-- what the source sent, so an unchanged source is 'skip' next time either way (a new listing
-- got it on insert). Two statements: a DELETE in a WITH runs after the main INSERT, which
-- would then collide with kept pairs.
WITH targets AS (
    SELECT s.listing_internal_id AS listing_id, s.attributes_content_hash,
           s.listing_action <> 'insert' AS existing,
           s.attributes_action = 'insert' OR s.force_overwrite
           OR NOT 'attributes' = ANY(k.listing_keep) AS replace
    FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
    WHERE s.id = ANY(:ids) AND s.attributes_action IN ('insert', 'update')
), hashed AS (
    UPDATE public.listings p SET attributes_content_hash = t.attributes_content_hash
    FROM targets t WHERE p.id = t.listing_id AND t.existing
)
DELETE FROM public.bridge_attributes_listings b USING targets t
WHERE b.listing_id = t.listing_id AND t.replace;

-- name: insert_attribute_links
INSERT INTO public.bridge_attributes_listings (listing_id, attribute_id, imported_from, promoted_at, promoted_by)
SELECT DISTINCT s.listing_internal_id, a.id, s.imported_from, now(), :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
CROSS JOIN LATERAL jsonb_array_elements_text(s.attributes) AS n(name)
JOIN public.attributes a ON lower(a.name) = lower(n.name)
WHERE s.id = ANY(:ids) AND s.attributes_action IN ('insert', 'update')
  AND (s.attributes_action = 'insert' OR s.force_overwrite OR NOT 'attributes' = ANY(k.listing_keep));

-- name: insert_contact_info
INSERT INTO public.contact_info (id, name, email, local_phone, international_phone, website_url,
    socials, contact_info_content_hash, imported_from, promoted_at, promoted_by)
SELECT s.contact_info_internal_id, s.ci_name, s.ci_email, s.ci_local_phone,
       s.ci_international_phone, s.ci_website_url, s.ci_socials, s.contact_info_content_hash,
       s.imported_from, now(), :by
FROM stage.listings_flat s WHERE s.id = ANY(:ids) AND s.contact_info_action = 'insert';

-- name: update_contact_info
UPDATE public.contact_info p SET
    name = pipeline.merge_value('name', k.contact_keep, s.force_overwrite, :policy, p.name, s.ci_name::TEXT),
    email = pipeline.merge_value('email', k.contact_keep, s.force_overwrite, :policy, p.email, s.ci_email::TEXT),
    local_phone = pipeline.merge_value('local_phone', k.contact_keep, s.force_overwrite, :policy, p.local_phone, s.ci_local_phone::TEXT),
    international_phone = pipeline.merge_value('international_phone', k.contact_keep, s.force_overwrite, :policy, p.international_phone, s.ci_international_phone::TEXT),
    website_url = pipeline.merge_value('website_url', k.contact_keep, s.force_overwrite, :policy, p.website_url, s.ci_website_url::TEXT),
    socials = pipeline.merge_value('socials', k.contact_keep, s.force_overwrite, :policy, p.socials, s.ci_socials),
    contact_info_content_hash = s.contact_info_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
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
    description = pipeline.merge_value('description', k.info_keep, s.force_overwrite, :policy, p.description, s.listing_info_description),
    info_status = CASE WHEN p.info_status = 'missing_from_import' THEN coalesce(s.info_status, 'active')
        ELSE pipeline.merge_value('info_status', k.info_keep, s.force_overwrite, :policy, p.info_status, coalesce(s.info_status, p.info_status)) END,
    info_visible = CASE WHEN p.info_status = 'missing_from_import' THEN coalesce(s.info_visible, true)
        ELSE pipeline.merge_value('info_visible', k.info_keep, s.force_overwrite, :policy, p.info_visible, coalesce(s.info_visible, p.info_visible)) END,
    origin_deleted = false,
    listing_info_content_hash = s.listing_info_content_hash,
    manually_modified = p.manually_modified AND NOT s.force_overwrite,
    manually_modified_fields = CASE WHEN s.force_overwrite THEN '{}' ELSE p.manually_modified_fields END,
    imported_from = s.imported_from, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
WHERE s.id = ANY(:ids) AND s.listing_info_action = 'update' AND p.id = s.listing_info_internal_id;

-- name: link_new_contact_info
UPDATE public.listing_info p SET contact_info_id = s.contact_info_internal_id
FROM stage.listings_flat s
WHERE s.id = ANY(:ids) AND s.contact_info_action = 'insert' AND s.listing_info_action <> 'insert'
  AND p.id = s.listing_info_internal_id
  AND p.contact_info_id IS DISTINCT FROM s.contact_info_internal_id;

-- name: replace_images
-- (The DELETE runs after the INSERT but sees only the rows from before the statement.)
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.images, s.images_content_hash, s.imported_from,
           s.listing_info_action <> 'insert' AS existing,
           s.images_action = 'insert' OR s.force_overwrite OR NOT 'images' = ANY(k.info_keep) AS replace
    FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
    WHERE s.id = ANY(:ids) AND s.images_action IN ('insert', 'update')
), cleared AS (
    DELETE FROM public.listing_images i USING targets t
    WHERE i.listing_info_id = t.info_id AND t.replace AND t.existing
), hashed AS (
    UPDATE public.listing_info p SET images_content_hash = t.images_content_hash
    FROM targets t WHERE p.id = t.info_id AND t.existing
)
INSERT INTO public.listing_images (listing_info_id, image, sort_order, imported_from, promoted_at, promoted_by)
SELECT t.info_id, e.image, e.n, t.imported_from, now(), :by
FROM targets t
CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(t.images, '[]')) WITH ORDINALITY AS e(image, n)
WHERE t.replace
ORDER BY t.info_id, e.n;  -- ids in a fixed order, as every child insert

-- name: replace_opening_dates
-- The collection hash lives on its rows, so a kept collection keeps its old hash. A
-- listing_info this batch inserts has no rows to clear (no delete probe per new row).
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.dates, s.opening_dates_content_hash, s.imported_from,
           s.listing_info_action IS DISTINCT FROM 'insert' AS existing
    FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
    WHERE s.id = ANY(:ids) AND s.opening_dates_action IN ('insert', 'update')
      AND (s.opening_dates_action = 'insert' OR s.force_overwrite OR NOT 'opening_dates' = ANY(k.info_keep))
), cleared AS (
    DELETE FROM public.opening_dates d USING targets t
    WHERE d.listing_info_id = t.info_id AND t.existing
)
INSERT INTO public.opening_dates (listing_info_id, start_date, end_date, opening_dates_content_hash,
                                  imported_from, promoted_at, promoted_by)
SELECT t.info_id, (d.value ->> 'start_date')::DATE, (d.value ->> 'end_date')::DATE,
       t.opening_dates_content_hash, t.imported_from, now(), :by
FROM targets t
CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.dates, '[]')) WITH ORDINALITY AS d(value, n)
ORDER BY t.info_id, d.n;

-- name: replace_opening_hours
-- As replace_opening_dates.
WITH targets AS (
    SELECT s.listing_info_internal_id AS info_id, s.hours, s.opening_hours_content_hash, s.imported_from,
           s.listing_info_action IS DISTINCT FROM 'insert' AS existing
    FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
    WHERE s.id = ANY(:ids) AND s.opening_hours_action IN ('insert', 'update')
      AND (s.opening_hours_action = 'insert' OR s.force_overwrite OR NOT 'opening_hours' = ANY(k.info_keep))
), cleared AS (
    DELETE FROM public.opening_hours h USING targets t
    WHERE h.listing_info_id = t.info_id AND t.existing
)
INSERT INTO public.opening_hours (listing_info_id, day_id, open_time, close_time,
                                  opening_hours_content_hash, imported_from, promoted_at, promoted_by)
SELECT t.info_id, (h.value ->> 'day_id')::SMALLINT, (h.value ->> 'open_time')::TIME,
       (h.value ->> 'close_time')::TIME, t.opening_hours_content_hash, t.imported_from, now(), :by
FROM targets t
CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.hours, '[]')) WITH ORDINALITY AS h(value, n)
ORDER BY t.info_id, h.n;

-- name: soft_delete
-- Seed 000: hidden with status missing_from_import. on_missing flag_only (seed 003), and any
-- claimed or owned listing: only origin_deleted is set and the listing stays visible; people
-- decide what happens next.
WITH infos AS (
    UPDATE public.listing_info p
    SET info_visible = CASE WHEN :flag_only OR k.claimed THEN p.info_visible ELSE false END,
        info_status = CASE WHEN :flag_only OR k.claimed THEN p.info_status
                           ELSE 'missing_from_import' END,
        origin_deleted = true, updated_at = now(), promoted_at = now(), promoted_by = :by
    FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
    WHERE s.id = ANY(:ids) AND s.listing_info_action = 'delete' AND p.id = s.listing_info_internal_id
)
UPDATE public.listings p
SET listing_visible = CASE WHEN :flag_only OR k.claimed THEN p.listing_visible ELSE false END,
    listing_status = CASE WHEN :flag_only OR k.claimed THEN p.listing_status
                          ELSE 'missing_from_import' END,
    origin_deleted = true, updated_at = now(), promoted_at = now(), promoted_by = :by
FROM stage.listings_flat s JOIN promote_rows k ON k.stage_id = s.id
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

-- name: upsert_source_listing_info
-- The listing_info the config (imported_from) brought in: only its own are ever proposed as
-- missing from its imports (transform job_deletions). New ones start as seen by this job (the
-- grace period counts from here); the transform's job_seen keeps the rest.
-- The batch's rows are found by their ids alone (MATERIALIZED): with the other conditions in
-- the same scan, statistics taken mid-promotion (autovacuum, once allocate_ids has filled ids)
-- led the planner to idx_stage_job_listing_info's every non-null entry, the rows promoted so
-- far, for each batch: quadratic over a first import.
WITH batch AS MATERIALIZED (
    SELECT s.id, s.imported_from, s.listing_info_internal_id, s.source_id, s.job_id, s.rec_num,
           s.listing_action, s.listing_info_action
    FROM stage.listings_flat s WHERE s.id = ANY(:ids)
)
INSERT INTO pipeline.source_listing_info (slug, listing_info_id, source_id, first_job_id,
                                          last_seen_job_id, last_seen_at)
SELECT DISTINCT ON (s.listing_info_internal_id) s.imported_from, s.listing_info_internal_id,
       s.source_id, s.job_id, s.job_id, now()
FROM batch s
WHERE s.rec_num IS NOT NULL AND s.listing_info_internal_id IS NOT NULL
  AND s.listing_action <> 'delete' AND s.listing_info_action <> 'delete'
ORDER BY s.listing_info_internal_id, s.id
ON CONFLICT (slug, listing_info_id) DO NOTHING;

-- name: write_creates
-- Version 1 of every row this batch inserted: its non-null fields, each {"old": null, "new":
-- value}, built set-based per table by pipeline.create_versions (migration 092: the same JSON
-- as a diff of the row's state from nothing, without reading that state). The versions meet
-- promote_targets small. A new listing_info's description (~10 KB, half the cost of a first
-- import's history) is marked "elided" instead of copied: until it first changes it is the
-- row's current value, and that change keeps it as "old" (history.sql states_as_of reads it
-- back so).
WITH ids AS (
    SELECT array_agg(target_id) FILTER (WHERE target_table = 'listings') AS listings,
           array_agg(target_id) FILTER (WHERE target_table = 'locations') AS locations,
           array_agg(target_id) FILTER (WHERE target_table = 'listing_info') AS infos,
           array_agg(target_id) FILTER (WHERE target_table = 'contact_info') AS contacts
    FROM promote_targets WHERE is_new
), created AS MATERIALIZED (
    SELECT c.target_table, c.target_id, c.changes
    FROM ids
    CROSS JOIN LATERAL pipeline.create_versions(ids.listings, ids.locations, ids.infos,
                                                ids.contacts) AS c
), written AS (
    INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version,
                                          change_type, changes, job_id, stage_id, reviewer,
                                          change_reason)
    SELECT c.target_table, c.target_id, t.listing_id,
           coalesce((SELECT max(h.version) FROM pipeline.listing_history h
                     WHERE h.target_table = c.target_table AND h.target_id = c.target_id), 0) + 1,
           'create', c.changes, t.job_id, t.stage_id, t.reviewer,
           concat_ws('; ', coalesce(t.reason, 'new in the source'), t.note)
    FROM created c
    JOIN promote_targets t ON t.target_table = c.target_table AND t.target_id = c.target_id
    WHERE c.changes <> '{}'
    RETURNING target_table, target_id
)
UPDATE promote_targets t SET change_type = 'create'
FROM written w WHERE w.target_table = t.target_table AND w.target_id = t.target_id;

-- name: write_history
-- One version per existing production row that really changed (a kept manual edit is not a
-- change; new rows: write_creates). The states after the batch are read here, once,
-- set-based, and never stored; OFFSET 0 keeps each diff computed once although both the
-- filter and the insert use it. (A row staged as existing but gone from production has no
-- state before: its version lists its fields as a create's does.)
WITH ids AS (
    SELECT array_agg(target_id) FILTER (WHERE target_table = 'listings') AS listings,
           array_agg(target_id) FILTER (WHERE target_table = 'locations') AS locations,
           array_agg(target_id) FILTER (WHERE target_table = 'listing_info') AS infos,
           array_agg(target_id) FILTER (WHERE target_table = 'contact_info') AS contacts
    FROM promote_targets WHERE NOT is_new
), changed AS (
    SELECT t.target_table, t.target_id, t.listing_id, t.stage_id, t.job_id, t.reviewer,
           t.reason, t.note, d.changes, pipeline.change_type(t.before, r.state) AS kind,
           coalesce(r.state ->> 'listing_status', r.state ->> 'info_status')
               = 'missing_from_import' AS hidden
    FROM ids
    CROSS JOIN LATERAL pipeline.row_states(ids.listings, ids.locations, ids.infos,
                                           ids.contacts) AS r
    JOIN promote_targets t ON t.target_table = r.target_table AND t.target_id = r.target_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.before IS NULL THEN
                   (SELECT coalesce(jsonb_object_agg(n.key, CASE
                               WHEN t.target_table = 'listing_info' AND n.key = 'description'
                               THEN '{"old": null, "elided": true}'
                               ELSE jsonb_build_object('old', NULL, 'new', n.value) END),
                                    '{}')
                    FROM jsonb_each(r.state) AS n WHERE n.value <> 'null')
               ELSE pipeline.state_diff(t.before, r.state) END AS changes
        OFFSET 0) AS d
    WHERE d.changes <> '{}'
), written AS (
    INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version,
                                          change_type, changes, job_id, stage_id, reviewer,
                                          change_reason)
    SELECT c.target_table, c.target_id, c.listing_id,
           coalesce((SELECT max(h.version) FROM pipeline.listing_history h
                     WHERE h.target_table = c.target_table AND h.target_id = c.target_id), 0) + 1,
           c.kind, c.changes, c.job_id, c.stage_id, c.reviewer,
           concat_ws('; ',
               coalesce(c.reason, CASE c.kind
                   WHEN 'create' THEN 'new in the source'
                   WHEN 'delete' THEN CASE WHEN c.hidden THEN 'missing from the import'
                                           ELSE 'missing from the import (flagged only)' END
                   WHEN 'reactivate' THEN 'back in the source'
                   ELSE 'changed at the source' END),
               c.note)
    FROM changed c
    RETURNING target_table, target_id, change_type
)
UPDATE promote_targets t SET change_type = w.change_type
FROM written w WHERE w.target_table = t.target_table AND w.target_id = t.target_id;

-- name: notify_changes
-- Seed 002 real-time notifications, one per batch: the changed listings by change type (a
-- listing whose own row did not change but a part did is an 'update'). Split into parts of
-- :chunk listings so a payload stays under PostgreSQL's 8000-byte limit. Sent at commit only.
WITH per_listing AS (
    SELECT listing_id,
           coalesce(min(change_type) FILTER (WHERE target_table = 'listings'), 'update') AS kind
    FROM promote_targets WHERE change_type IS NOT NULL AND listing_id IS NOT NULL
    GROUP BY listing_id
), chunked AS (
    SELECT listing_id, kind, (row_number() OVER (ORDER BY listing_id) - 1) / :chunk AS part
    FROM per_listing
), parts AS (
    SELECT part, jsonb_object_agg(kind, ids) AS changes
    FROM (SELECT part, kind, jsonb_agg(listing_id ORDER BY listing_id) AS ids
          FROM chunked GROUP BY part, kind) k
    GROUP BY part
)
SELECT pg_notify('listings_changes',
                 jsonb_build_object('job_id', CAST(:job_id AS INT), 'source', CAST(:slug AS TEXT),
                                    'part', part + 1, 'parts', (SELECT count(*) FROM parts),
                                    'changes', changes)::TEXT)
FROM parts ORDER BY part;

-- name: newer_job
-- A newer job of the same source that has started its transform supersedes this one: its
-- decisions are (or are being) made against the production this job would change, and one
-- that failed there resumes from what it staged. A cancelled one does not (the console cancels
-- the jobs a config change made obsolete); one that failed before its transform does not.
SELECT j.id, j.status, t.status AS transform_status
FROM pipeline.jobs j
JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform' AND t.status <> 'pending'
WHERE j.slug = :slug AND j.id > :job_id AND j.status <> 'cancelled'
ORDER BY j.id DESC LIMIT 1;

-- name: job_status
SELECT status FROM pipeline.jobs WHERE id = :job_id;

-- name: job_dmo
SELECT dmo_id FROM pipeline.jobs WHERE id = :job_id;

-- name: waiting_rows
SELECT coalesce(review_reason, 'other') AS kind, count(*) AS n FROM stage.listings_flat
WHERE job_id = :job_id AND review_status = 'pending' GROUP BY 1 ORDER BY 1;

-- name: promote_counts
-- Records of the import (not the deletion rows the transform added) count in total.
SELECT
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'insert') AS new,
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'update') AS updated,
    count(*) FILTER (WHERE promote_status = 'succeeded' AND change_kind = 'delete') AS deleted,
    count(*) FILTER (WHERE change_kind = 'duplicate') AS duplicates,
    count(*) FILTER (WHERE promote_status IN ('skipped', 'succeeded') AND change_kind = 'skip') AS unchanged,
    count(*) FILTER (WHERE promote_status = 'failed' OR change_kind = 'error') AS failed,
    count(*) FILTER (WHERE validation_warnings IS NOT NULL) AS warning,
    count(*) FILTER (WHERE rec_num IS NOT NULL) AS total,
    count(*) FILTER (WHERE promote_status = 'succeeded') AS promoted,
    count(*) FILTER (WHERE promote_status = 'skipped') AS skipped,
    count(*) FILTER (WHERE review_status = 'rejected') AS rejected,
    count(*) FILTER (WHERE promote_status = 'pending') AS pending
FROM stage.listings_flat WHERE job_id = :job_id;

-- name: job_history_counts
SELECT change_type, count(*) AS n FROM pipeline.listing_history
WHERE job_id = :job_id AND target_table = 'listings' GROUP BY 1;

-- name: listings_estimate
-- The listings the planner's statistics know of (never analysed: none).
SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'public.listings'::regclass;

-- name: clean_name_indexes
-- The trigram name index takes new listings into its pending list (cheap inserts, migration
-- 054); a search would scan that list on every lookup, so a promotion merges it into the index
-- once, at its end.
SELECT gin_clean_pending_list('public.idx_listings_name_trgm'::regclass);

-- name: analyze_written
ANALYZE public.listings, public.locations, public.listing_info, public.contact_info,
        public.listing_images, public.opening_dates, public.opening_hours,
        public.bridge_attributes_listings, pipeline.bridge_source_target,
        pipeline.source_listing_info;

-- name: stale_inserts
-- Rows staged as new listings that the catalogue holds now: another config of the DMO (or
-- another DMO) promoted the same place after this job's transform looked. A transform run now
-- would link them (the bridge and match-hash lookups of transform/stage.sql), so they are
-- linked here, under the DMO's exclusive catalogue lock, and decided again. Rows a reviewer
-- decided keep that decision.
WITH found AS (
    SELECT s.id, coalesce(br.target_id, mh.id) AS listing_id,
           CASE WHEN br.target_id IS NOT NULL THEN 'bridge' ELSE 'match_hash' END AS method
    FROM stage.listings_flat s
    LEFT JOIN pipeline.bridge_source_target br
           ON br.dmo_id = s.dmo_id AND br.source_id = s.source_id AND br.target_type = 'listings'
          AND EXISTS (SELECT 1 FROM public.listings l WHERE l.id = br.target_id)
    LEFT JOIN LATERAL (
        -- Not a listing this job inserted itself (a promotion resumed after a crash must end
        -- as the uninterrupted one, which inserts each of the job's new rows).
        SELECT l.id FROM public.listings l
        WHERE l.listing_match_hash = s.listing_match_hash
          AND NOT EXISTS (SELECT 1 FROM stage.listings_flat o
                          WHERE o.listing_internal_id = l.id AND o.job_id = :job_id)
        ORDER BY l.listing_visible DESC, l.id
        LIMIT 1) mh ON true
    WHERE s.job_id = :job_id AND s.promote_status = 'pending' AND s.listing_action = 'insert'
      AND s.listing_internal_id IS NULL AND s.reviewed_at IS NULL AND s.duplicate_of IS NULL
)
UPDATE stage.listings_flat s
SET listing_internal_id = f.listing_id, match_method = f.method, match_score = 1
FROM found f
WHERE f.id = s.id AND f.listing_id IS NOT NULL
RETURNING s.id;

-- name: mapped_targets
SELECT jsonb_object_keys(field_mappings) FROM pipeline.config_snapshots WHERE job_id = :job_id;
