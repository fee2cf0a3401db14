-- Transform decisions, set-based. The row steps (lookups, hashes, actions) are written over
-- {rows} restricted by {where}: per batch they run on the temp table batch_rows (WHERE true);
-- after fuzzy matching or geocoding they run again on the stage rows those changed
-- (stage.listings_flat, WHERE id = ANY(:ids)). Rows are keyed by id: batch rows draw their
-- stage id from the stage sequence when they are copied in. Whole-job steps (duplicates,
-- deletions, review flags) run once per job on stage.listings_flat.

-- name: batch_table_exists
SELECT to_regclass('pg_temp.batch_rows');

-- name: create_batch_table
CREATE TEMP TABLE batch_rows (LIKE stage.listings_flat INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
ALTER TABLE batch_rows ADD COLUMN reuse_id INT;  -- the earlier stage row this record repeats
CREATE INDEX ON batch_rows (id);

-- name: batch_settings
-- A batch lost to a server crash is redone by the retry, which starts after the last staged
-- record (batches commit in order, and the job-level statements commit synchronously, which
-- flushes all of them): a batch's commit need not wait for the disk.
-- A batch joins production by keys: index probes per batch row, never a hash of a whole
-- production table, which the planner prefers for a 2,000-row batch against 50,000 listings
-- and which made a re-import quadratic (each batch scanned every production table).
SET LOCAL synchronous_commit = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;

-- name: batch_analyze
-- Without statistics the planner takes the fresh temp table for a big one and joins it to
-- production by sequential scans: O(production) per batch, quadratic over a large import.
-- Only the join keys: statistics of the 10 KB descriptions would mean decompressing them all.
ANALYZE batch_rows (id, dmo_id, source_id, reuse_id, listing_match_hash, listing_internal_id,
                    listing_info_internal_id, location_internal_id, contact_info_internal_id);

-- name: previous_job
-- The job whose rows an unchanged record may reuse: the source's latest earlier job whose
-- transform completed (for an unchanged job, the job whose rows stand in for it).
SELECT coalesce(j.unchanged_of, j.id) FROM pipeline.jobs j
JOIN pipeline.job_stages s ON s.job_id = j.id AND s.name = 'transform' AND s.status = 'completed'
WHERE j.slug = :slug AND j.id < :job_id
ORDER BY j.id DESC LIMIT 1;

-- name: unchanged_of
SELECT unchanged_of FROM pipeline.jobs WHERE id = :job_id;

-- name: stand_in_counts
-- An unchanged job's records are its base job's (importing/unchanged.py): counted from the
-- base's rows as the job's transform would have found them, all unchanged; deletions are the
-- job's own rows.
SELECT b.total, 0 AS new, 0 AS updated, o.deleted, b.duplicates,
       b.total - b.duplicates - b.failed AS unchanged, b.failed, b.warning,
       o.waiting, 0 AS matched, 0 AS uncertain
FROM (SELECT count(*) AS total,
             count(*) FILTER (WHERE change_kind = 'duplicate') AS duplicates,
             count(*) FILTER (WHERE change_kind = 'error') AS failed,
             count(*) FILTER (WHERE validation_warnings IS NOT NULL) AS warning
      FROM stage.listings_flat WHERE job_id = :base AND rec_num IS NOT NULL) b,
     (SELECT count(*) FILTER (WHERE change_kind = 'delete') AS deleted,
             count(*) FILTER (WHERE review_status = 'pending') AS waiting
      FROM stage.listings_flat WHERE job_id = :job_id) o;

-- name: reusable_rows
-- Rows of that job with the same source_id and record_hash (rows whose values are not the
-- record's alone have none). LATERAL with LIMIT: one probe of idx_stage_job_source per record.
SELECT c.source_id, c.record_hash, p.id
FROM unnest(CAST(:source_ids AS TEXT[]), CAST(:hashes AS TEXT[])) AS c(source_id, record_hash)
CROSS JOIN LATERAL (
    SELECT p.id FROM stage.listings_flat p
    WHERE p.job_id = :job_id AND p.dmo_id = :dmo_id AND p.source_id = c.source_id
      AND p.record_hash = c.record_hash AND p.rec_num IS NOT NULL
    ORDER BY p.id LIMIT 1) p;

-- name: reuse_rows
-- Unchanged records: what mapping, normalising and validating made of them last time, and the
-- hashes that follow from those values alone. The big columns (description, collections) are
-- taken from the earlier row only by batch_to_stage, so they are copied once. A subquery per
-- row: one primary-key probe each, never a scan of the whole stage table.
UPDATE batch_rows b SET (
    source_url, source_identifier, listing_name, listing_google_place_id, listing_status,
    listing_visible, info_status, info_visible, ci_name, ci_email, ci_local_phone,
    ci_international_phone, ci_website_url, ci_socials, loc_address1, loc_address2, loc_region,
    loc_city, loc_state, loc_zip, loc_country, loc_lat, loc_lng, loc_lat_original,
    loc_lng_original, validation_errors, validation_warnings, quality_score, unparsed_values,
    listing_match_hash,
    listing_content_hash, listing_info_content_hash, location_content_hash,
    contact_info_content_hash, images_content_hash, opening_dates_content_hash,
    opening_hours_content_hash, attributes_content_hash
) = (
    SELECT source_url, source_identifier, listing_name, listing_google_place_id, listing_status,
           listing_visible, info_status, info_visible, ci_name, ci_email, ci_local_phone,
           ci_international_phone, ci_website_url, ci_socials, loc_address1, loc_address2,
           loc_region, loc_city, loc_state, loc_zip, loc_country, loc_lat, loc_lng,
           loc_lat_original, loc_lng_original, validation_errors, validation_warnings,
           quality_score, unparsed_values, listing_match_hash, listing_content_hash,
           listing_info_content_hash, location_content_hash, contact_info_content_hash, images_content_hash,
           opening_dates_content_hash, opening_hours_content_hash, attributes_content_hash
    FROM stage.listings_flat p WHERE p.id = b.reuse_id)
WHERE b.reuse_id IS NOT NULL;

-- name: analyze_stage
-- The next import of the source looks up this job's rows (reusable_rows): without fresh
-- statistics the planner takes the job for a handful of rows and scans it for every record.
-- Only the key columns: statistics of the descriptions would mean decompressing them.
ANALYZE stage.listings_flat (job_id, dmo_id, source_id, rec_num, record_hash,
                             listing_internal_id, listing_info_internal_id, promote_status,
                             change_kind, review_status);

-- name: staged_up_to
SELECT coalesce(max(rec_num), 0) FROM stage.listings_flat WHERE job_id = :job_id;

-- name: match_hash
UPDATE {rows} b
SET listing_match_hash = pipeline.listing_match_hash(listing_name, loc_address1, loc_city)
WHERE {where};

-- name: lookup_bridge
-- 1. Bridge table: (dmo_id, source_id) → the listing and listing_info this source already maps to.
UPDATE {rows} b
SET listing_internal_id = bl.target_id, match_method = 'bridge', match_score = 1,
    listing_info_internal_id = bi.target_id
FROM pipeline.bridge_source_target bl
LEFT JOIN pipeline.bridge_source_target bi
       ON bi.dmo_id = bl.dmo_id AND bi.source_id = bl.source_id AND bi.target_type = 'listing_info'
WHERE {where} AND bl.dmo_id = b.dmo_id AND bl.source_id = b.source_id
  AND bl.target_type = 'listings'
  AND EXISTS (SELECT 1 FROM public.listings l WHERE l.id = bl.target_id);

-- name: lookup_match_hash
-- 2. Not in the bridge: the same name + address + city in production (any DMO).
WITH m AS (
    SELECT b.id AS row_id, l.id
    FROM {rows} b
    CROSS JOIN LATERAL (
        SELECT id FROM public.listings l
        WHERE l.listing_match_hash = b.listing_match_hash
        ORDER BY l.listing_visible DESC, l.id
        LIMIT 1) l
    WHERE {where} AND b.listing_internal_id IS NULL
)
UPDATE {rows} b SET listing_internal_id = m.id, match_method = 'match_hash', match_score = 1
FROM m WHERE m.row_id = b.id;

-- name: lookup_listing_info
-- The listing is known: its listing_info for this DMO, if the bridge lacked the mapping.
UPDATE {rows} b SET listing_info_internal_id = li.id
FROM public.listing_info li
WHERE {where} AND b.listing_info_internal_id IS NULL AND b.listing_internal_id IS NOT NULL
  AND li.listing_id = b.listing_internal_id AND li.dmo_id = b.dmo_id;

-- name: production_ids
UPDATE {rows} b
SET match_method = coalesce(b.match_method, 'none'),
    location_internal_id = l.location_id,
    contact_info_internal_id = li.contact_info_id
FROM {rows} b2
LEFT JOIN public.listings l ON l.id = b2.listing_internal_id
LEFT JOIN public.listing_info li ON li.id = b2.listing_info_internal_id
WHERE {where} AND b2.id = b.id;

-- name: fill_location
-- Seed 000: a match supplies missing coordinates and address fields from production (and
-- the row is no longer the record's alone: no reuse by a later import).
UPDATE {rows} b
SET record_hash = NULL, loc_lat = coalesce(b.loc_lat, loc.lat), loc_lng = coalesce(b.loc_lng, loc.lng),
    loc_address1 = coalesce(b.loc_address1, loc.address1),
    loc_address2 = coalesce(b.loc_address2, loc.address2),
    loc_city = coalesce(b.loc_city, loc.city), loc_state = coalesce(b.loc_state, loc.state),
    loc_zip = coalesce(b.loc_zip, loc.zip), loc_country = coalesce(b.loc_country, loc.country)
FROM public.locations loc
WHERE {where} AND loc.id = b.location_internal_id AND (b.loc_lat IS NULL OR b.loc_lng IS NULL);

-- name: keep_unreadable
-- A value the source sent that could not be read is not a removal: a matched row keeps
-- production's value of that field (the source's text stays in unparsed_values for reviewers),
-- so an unreadable email or phone never blanks a good one.
UPDATE {rows} t SET
    record_hash = NULL,
    ci_name = CASE WHEN u ? 'contact_info.name' THEN coalesce(t.ci_name, p.ci_name) ELSE t.ci_name END,
    ci_email = CASE WHEN u ? 'contact_info.email' THEN coalesce(t.ci_email, p.ci_email) ELSE t.ci_email END,
    ci_local_phone = CASE WHEN u ?| ARRAY['contact_info.local_phone', 'contact_info.international_phone']
        THEN coalesce(t.ci_local_phone, p.ci_local_phone) ELSE t.ci_local_phone END,
    ci_international_phone = CASE WHEN u ?| ARRAY['contact_info.local_phone', 'contact_info.international_phone']
        THEN coalesce(t.ci_international_phone, p.ci_international_phone) ELSE t.ci_international_phone END,
    ci_website_url = CASE WHEN u ? 'contact_info.website_url' THEN coalesce(t.ci_website_url, p.ci_website_url) ELSE t.ci_website_url END,
    ci_socials = CASE WHEN u ? 'contact_info.socials' THEN coalesce(t.ci_socials, p.ci_socials) ELSE t.ci_socials END,
    loc_address1 = CASE WHEN u ? 'locations.address1' THEN coalesce(t.loc_address1, p.address1) ELSE t.loc_address1 END,
    loc_address2 = CASE WHEN u ? 'locations.address2' THEN coalesce(t.loc_address2, p.address2) ELSE t.loc_address2 END,
    loc_city = CASE WHEN u ? 'locations.city' THEN coalesce(t.loc_city, p.city) ELSE t.loc_city END,
    loc_state = CASE WHEN u ? 'locations.state' THEN coalesce(t.loc_state, p.state) ELSE t.loc_state END,
    loc_zip = CASE WHEN u ? 'locations.zip' THEN coalesce(t.loc_zip, p.zip) ELSE t.loc_zip END,
    loc_country = CASE WHEN u ? 'locations.country' THEN coalesce(t.loc_country, p.country) ELSE t.loc_country END,
    loc_lat = CASE WHEN u ?| ARRAY['locations.lat', 'locations.lng'] THEN coalesce(t.loc_lat, p.lat) ELSE t.loc_lat END,
    loc_lng = CASE WHEN u ?| ARRAY['locations.lat', 'locations.lng'] THEN coalesce(t.loc_lng, p.lng) ELSE t.loc_lng END,
    listing_status = CASE WHEN u ? 'listings.listing_status' THEN coalesce(t.listing_status, p.listing_status) ELSE t.listing_status END,
    listing_visible = CASE WHEN u ? 'listings.listing_visible' THEN coalesce(t.listing_visible, p.listing_visible) ELSE t.listing_visible END,
    info_status = CASE WHEN u ? 'listing_info.info_status' THEN coalesce(t.info_status, p.info_status) ELSE t.info_status END,
    info_visible = CASE WHEN u ? 'listing_info.info_visible' THEN coalesce(t.info_visible, p.info_visible) ELSE t.info_visible END
FROM (
    SELECT b.id, b.unparsed_values AS u,
           ci.name AS ci_name, ci.email AS ci_email, ci.local_phone AS ci_local_phone,
           ci.international_phone AS ci_international_phone, ci.website_url AS ci_website_url,
           ci.socials AS ci_socials, loc.address1, loc.address2, loc.city, loc.state, loc.zip,
           loc.country, loc.lat, loc.lng, l.listing_status, l.listing_visible,
           li.info_status, li.info_visible
    FROM {rows} b
    LEFT JOIN public.contact_info ci ON ci.id = b.contact_info_internal_id
    LEFT JOIN public.locations loc ON loc.id = b.location_internal_id
    LEFT JOIN public.listings l ON l.id = b.listing_internal_id
    LEFT JOIN public.listing_info li ON li.id = b.listing_info_internal_id
    WHERE {where} AND b.unparsed_values IS NOT NULL AND b.listing_internal_id IS NOT NULL
) p
WHERE t.id = p.id;

-- name: content_hashes
-- An object the source says nothing about gets no hash (and so no action).
-- {description_hash}: in a batch, the hash the mapping computed while the text was on hand
-- (transform/hashes.py, equal to pipeline.listing_info_content_hash), so that the ~10 KB
-- description is not decompressed again; over stage rows, the SQL function.
UPDATE {rows} b SET
    listing_content_hash = pipeline.listing_content_hash(listing_name),
    listing_info_content_hash = {description_hash},
    location_content_hash = CASE
        WHEN num_nonnulls(loc_address1, loc_address2, loc_city, loc_state, loc_zip, loc_country,
                          loc_lat, loc_lng) = 0 THEN NULL
        ELSE pipeline.location_content_hash(loc_address1, loc_address2, loc_city, loc_state,
                                            loc_zip, loc_country, loc_lat, loc_lng) END,
    contact_info_content_hash = CASE
        WHEN num_nonnulls(ci_name, ci_email, ci_local_phone, ci_international_phone, ci_socials) = 0
        THEN NULL
        ELSE pipeline.contact_info_content_hash(ci_name, ci_email, ci_local_phone,
                                                ci_international_phone, ci_socials) END,
    images_content_hash = pipeline.images_content_hash(images),
    opening_dates_content_hash = pipeline.opening_dates_content_hash(dates),
    opening_hours_content_hash = pipeline.opening_hours_content_hash(hours),
    attributes_content_hash = pipeline.attributes_content_hash(attributes)
WHERE {where};

-- name: actions
-- Seed 000 "Content Change Detection". Listing-level objects (listing, location, attributes)
-- belong to the source that created the listing (listings.imported_from); other sources that
-- match it add their own listing_info and do not rewrite the shared listing back and forth.
-- A soft-deleted (or source-deleted, flag only) listing or listing_info that comes back is
-- updated (reactivated).
-- Collections the config maps but the record leaves empty are cleared (update); unmapped
-- collections are left alone.
UPDATE {rows} b SET
    listing_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN l.id IS NULL THEN 'insert'
        WHEN l.listing_status = 'missing_from_import' OR l.origin_deleted THEN 'update'
        WHEN l.imported_from IS DISTINCT FROM b.imported_from THEN 'skip'
        WHEN l.listing_content_hash IS DISTINCT FROM b.listing_content_hash THEN 'update'
        ELSE 'skip' END,
    location_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN b.location_content_hash IS NULL THEN 'skip'
        WHEN loc.id IS NULL THEN 'insert'
        WHEN l.imported_from IS DISTINCT FROM b.imported_from THEN 'skip'
        WHEN loc.location_content_hash IS DISTINCT FROM b.location_content_hash THEN 'update'
        ELSE 'skip' END,
    attributes_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN l.id IS NULL THEN CASE WHEN b.attributes_content_hash IS NULL THEN 'skip' ELSE 'insert' END
        WHEN l.imported_from IS DISTINCT FROM b.imported_from THEN 'skip'
        WHEN b.attributes_content_hash IS NULL AND NOT :attributes_mapped THEN 'skip'
        WHEN l.attributes_content_hash IS DISTINCT FROM b.attributes_content_hash THEN 'update'
        ELSE 'skip' END,
    listing_info_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN li.id IS NULL THEN 'insert'
        WHEN li.info_status = 'missing_from_import' OR li.origin_deleted THEN 'update'
        WHEN li.listing_info_content_hash IS DISTINCT FROM b.listing_info_content_hash THEN 'update'
        ELSE 'skip' END,
    contact_info_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN b.contact_info_content_hash IS NULL THEN 'skip'
        WHEN ci.id IS NULL THEN 'insert'
        WHEN ci.contact_info_content_hash IS DISTINCT FROM b.contact_info_content_hash THEN 'update'
        ELSE 'skip' END,
    images_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN li.id IS NULL THEN CASE WHEN b.images_content_hash IS NULL THEN 'skip' ELSE 'insert' END
        WHEN b.images_content_hash IS NULL AND NOT :images_mapped THEN 'skip'
        WHEN li.images_content_hash IS DISTINCT FROM b.images_content_hash THEN 'update'
        ELSE 'skip' END,
    opening_dates_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN li.id IS NULL THEN CASE WHEN b.opening_dates_content_hash IS NULL THEN 'skip' ELSE 'insert' END
        WHEN b.opening_dates_content_hash IS NULL AND NOT :dates_mapped THEN 'skip'
        WHEN (SELECT max(d.opening_dates_content_hash) FROM public.opening_dates d
              WHERE d.listing_info_id = li.id) IS DISTINCT FROM b.opening_dates_content_hash
        THEN 'update'
        ELSE 'skip' END,
    opening_hours_action = CASE
        WHEN b.validation_errors IS NOT NULL THEN 'error'
        WHEN li.id IS NULL THEN CASE WHEN b.opening_hours_content_hash IS NULL THEN 'skip' ELSE 'insert' END
        WHEN b.opening_hours_content_hash IS NULL AND NOT :hours_mapped THEN 'skip'
        WHEN (SELECT max(h.opening_hours_content_hash) FROM public.opening_hours h
              WHERE h.listing_info_id = li.id) IS DISTINCT FROM b.opening_hours_content_hash
        THEN 'update'
        ELSE 'skip' END
FROM {rows} b2
LEFT JOIN public.listings l ON l.id = b2.listing_internal_id
LEFT JOIN public.locations loc ON loc.id = b2.location_internal_id
LEFT JOIN public.listing_info li ON li.id = b2.listing_info_internal_id
LEFT JOIN public.contact_info ci ON ci.id = b2.contact_info_internal_id
WHERE {where} AND b2.id = b.id;

-- name: clears
-- Issue 15: the production values an update would set to null (or collections it would
-- empty), by mapping target; fields a person edited are kept by promotion and do not count,
-- nor do scalars under merge policies that never write a null (:nulls_clear) or collections
-- under skip_if_exists (:empty_clears). Such a row waits for a person (review_flags).
-- Only rows whose list changes are written.
WITH c AS (
    SELECT b.id, NULLIF(array_remove(ARRAY[
        CASE WHEN :nulls_clear AND b.listing_action = 'update' THEN
            pipeline.cleared('listings.google_place_id', l.google_place_id IS NOT NULL,
                             b.listing_google_place_id IS NULL, l.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.listing_info_action = 'update' THEN
            pipeline.cleared('listing_info.description', li.description IS NOT NULL,
                             b.listing_info_description IS NULL, li.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.name', ci.name IS NOT NULL, b.ci_name IS NULL,
                             ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.email', ci.email IS NOT NULL, b.ci_email IS NULL,
                             ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.local_phone', ci.local_phone IS NOT NULL,
                             b.ci_local_phone IS NULL, ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.international_phone', ci.international_phone IS NOT NULL,
                             b.ci_international_phone IS NULL, ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.website_url', ci.website_url IS NOT NULL,
                             b.ci_website_url IS NULL, ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.contact_info_action = 'update' THEN
            pipeline.cleared('contact_info.socials', ci.socials IS NOT NULL, b.ci_socials IS NULL,
                             ci.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.address1', loc.address1 IS NOT NULL,
                             b.loc_address1 IS NULL, loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.address2', loc.address2 IS NOT NULL,
                             b.loc_address2 IS NULL, loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.region', loc.region IS NOT NULL, b.loc_region IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.city', loc.city IS NOT NULL, b.loc_city IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.state', loc.state IS NOT NULL, b.loc_state IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.zip', loc.zip IS NOT NULL, b.loc_zip IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.country', loc.country IS NOT NULL, b.loc_country IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.lat', loc.lat IS NOT NULL, b.loc_lat IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :nulls_clear AND b.location_action = 'update' THEN
            pipeline.cleared('locations.lng', loc.lng IS NOT NULL, b.loc_lng IS NULL,
                             loc.manually_modified_fields) END,
        CASE WHEN :empty_clears AND b.images_action = 'update' THEN
            pipeline.cleared('listing_images', li.images_content_hash IS NOT NULL,
                             b.images_content_hash IS NULL, li.manually_modified_fields) END,
        CASE WHEN :empty_clears AND b.opening_dates_action = 'update' THEN
            pipeline.cleared('opening_dates', b.opening_dates_content_hash IS NULL
                             AND EXISTS (SELECT 1 FROM public.opening_dates d
                                         WHERE d.listing_info_id = li.id),
                             true, li.manually_modified_fields) END,
        CASE WHEN :empty_clears AND b.opening_hours_action = 'update' THEN
            pipeline.cleared('opening_hours', b.opening_hours_content_hash IS NULL
                             AND EXISTS (SELECT 1 FROM public.opening_hours h
                                         WHERE h.listing_info_id = li.id),
                             true, li.manually_modified_fields) END,
        CASE WHEN :empty_clears AND b.attributes_action = 'update' THEN
            pipeline.cleared('bridge_attributes_listings', l.attributes_content_hash IS NOT NULL,
                             b.attributes_content_hash IS NULL, l.manually_modified_fields) END
    ], NULL), '{}') AS fields
    FROM {rows} b
    LEFT JOIN public.listings l ON l.id = b.listing_internal_id
    LEFT JOIN public.locations loc ON loc.id = b.location_internal_id
    LEFT JOIN public.listing_info li ON li.id = b.listing_info_internal_id
    LEFT JOIN public.contact_info ci ON ci.id = b.contact_info_internal_id
    WHERE {where}
      AND (b.clears_fields IS NOT NULL
           OR 'update' IN (b.listing_action, b.listing_info_action, b.location_action,
                           b.contact_info_action, b.images_action, b.opening_dates_action,
                           b.opening_hours_action, b.attributes_action))
)
UPDATE {rows} t SET clears_fields = c.fields
FROM c WHERE t.id = c.id AND t.clears_fields IS DISTINCT FROM c.fields;

-- name: batch_to_stage
-- {values}: the batch row's columns, the big ones of a reused row from its earlier row.
-- LATERAL: a primary-key probe per reused row, never a scan of the whole stage table.
INSERT INTO stage.listings_flat ({columns})
SELECT {values} FROM batch_rows b
LEFT JOIN LATERAL (
    SELECT {big} FROM stage.listings_flat p WHERE p.id = b.reuse_id OFFSET 0) p ON true;

-- name: fuzzy_linked
-- Rows fuzzy matching linked to a listing: their lookups, hashes and actions are redone.
SELECT id FROM stage.listings_flat
WHERE job_id = :job_id AND match_method = 'fuzzy' AND listing_info_internal_id IS NULL;

-- name: geocoded_rows
-- New rows whose location geocoding changed: their location hash no longer fits their fields.
SELECT id FROM stage.listings_flat
WHERE job_id = :job_id AND rec_num IS NOT NULL AND listing_internal_id IS NULL
  AND loc_lat IS NOT NULL
  AND location_content_hash IS DISTINCT FROM pipeline.location_content_hash(
        loc_address1, loc_address2, loc_city, loc_state, loc_zip, loc_country, loc_lat, loc_lng);

-- name: job_duplicates
-- Seed 000 3e: source_id is the dedup key; the first record is the primary, the others skip.
WITH ranked AS (
    SELECT id, first_value(id) OVER (PARTITION BY dmo_id, source_id ORDER BY rec_num) AS primary_id
    FROM stage.listings_flat WHERE job_id = :job_id AND rec_num IS NOT NULL
)
UPDATE stage.listings_flat s
SET duplicate_of = r.primary_id, listing_action = 'skip', listing_info_action = 'skip',
    location_action = 'skip', contact_info_action = 'skip', images_action = 'skip',
    opening_dates_action = 'skip', opening_hours_action = 'skip', attributes_action = 'skip'
FROM ranked r
WHERE s.id = r.id AND r.primary_id <> s.id AND s.duplicate_of IS NULL;

-- name: clear_deletions
DELETE FROM stage.listings_flat WHERE job_id = :job_id AND rec_num IS NULL;

-- name: job_seen
-- Seed 002 grace period, per source config: what this import lists is the config's and was
-- seen now (a listing_info another config of the DMO brought in becomes this one's too).
-- :seen_job is the job itself, or for an unchanged job the job whose rows stand in for it.
INSERT INTO pipeline.source_listing_info AS m (slug, listing_info_id, source_id, first_job_id,
                                               last_seen_job_id, last_seen_at)
SELECT DISTINCT ON (s.listing_info_internal_id) :slug, s.listing_info_internal_id, s.source_id,
       :job_id, :job_id, now()
FROM stage.listings_flat s
JOIN public.listing_info li ON li.id = s.listing_info_internal_id
WHERE s.job_id = :seen_job AND s.rec_num IS NOT NULL
ORDER BY s.listing_info_internal_id, s.rec_num
ON CONFLICT (slug, listing_info_id) DO UPDATE
SET source_id = EXCLUDED.source_id, last_seen_job_id = :job_id, last_seen_at = now(),
    missed_imports = 0
WHERE m.last_seen_job_id IS DISTINCT FROM :job_id;

-- name: job_missed
-- ...and the config's live listing_info it does not list missed one more (complete) import,
-- once per job. Another config's listing_info is not this one's to miss.
UPDATE pipeline.source_listing_info m
SET missed_imports = m.missed_imports + 1, last_missed_job_id = :job_id
FROM public.listing_info li
WHERE m.slug = :slug AND li.id = m.listing_info_id
  AND li.info_status <> 'missing_from_import' AND NOT li.origin_deleted
  AND m.last_seen_job_id IS DISTINCT FROM :job_id AND m.last_missed_job_id IS DISTINCT FROM :job_id;

-- name: job_deletions
-- Seed 000 3f, per source config (issue 15): every visible listing_info this config brought
-- in with no row in this import is deleted; its listing too when no other visible
-- listing_info remains. With a grace period (seed 002) only once the config missed it
-- :grace_imports imports and last saw it :grace_days ago. Never while another active config
-- of the DMO still lists it (it was in that config's latest complete import).
INSERT INTO stage.listings_flat (
    job_id, dmo_id, source_id, imported_from, listing_internal_id, listing_info_internal_id,
    location_internal_id, contact_info_internal_id, match_method, match_score,
    listing_name, listing_info_description, loc_address1, loc_city,
    listing_action, listing_info_action, location_action, contact_info_action, images_action,
    opening_dates_action, opening_hours_action, attributes_action)
SELECT :job_id, li.dmo_id, m.source_id, :slug,
       l.id, li.id, l.location_id, li.contact_info_id, 'bridge', 1,
       l.name, li.description, loc.address1, loc.city,
       CASE WHEN EXISTS (SELECT 1 FROM public.listing_info o
                         WHERE o.listing_id = l.id AND o.id <> li.id AND o.info_visible
                           AND NOT o.origin_deleted)
            OR l.listing_status = 'missing_from_import' OR l.origin_deleted
            THEN 'skip' ELSE 'delete' END,
       'delete', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip'
FROM pipeline.source_listing_info m
JOIN public.listing_info li ON li.id = m.listing_info_id
JOIN public.listings l ON l.id = li.listing_id
LEFT JOIN public.locations loc ON loc.id = l.location_id
WHERE m.slug = :slug AND li.dmo_id = :dmo_id
  AND li.info_status <> 'missing_from_import' AND NOT li.origin_deleted
  AND m.missed_imports >= :grace_imports
  AND coalesce(m.last_seen_at, '-infinity') <= now() - make_interval(days => :grace_days)
  AND NOT EXISTS (SELECT 1 FROM stage.listings_flat s
                  WHERE s.listing_info_internal_id = li.id
                    AND (s.job_id = :job_id OR (s.job_id = :seen_job AND s.rec_num IS NOT NULL)))
  AND NOT EXISTS (SELECT 1 FROM pipeline.source_listing_info o
                  JOIN pipeline.configs c ON c.slug = o.slug AND c.active
                  WHERE o.listing_info_id = li.id AND o.slug <> :slug AND o.missed_imports = 0);

-- name: review_flags
-- What kind of change each row is, and whether a person must decide (config review policy).
-- Per batch before the rows go into the stage table, then over the job for the rows the
-- whole-job steps changed: a row whose flags are right already is not written again. Rows a
-- reviewer already decided keep their decision.
WITH k AS (
    SELECT b.id, CASE
        WHEN b.duplicate_of IS NOT NULL THEN 'duplicate'
        WHEN b.listing_info_action = 'delete' OR b.listing_action = 'delete' THEN 'delete'
        WHEN b.listing_action = 'error' THEN 'error'
        WHEN b.match_method = 'suggested' THEN 'uncertain_match'
        WHEN b.listing_action = 'insert' OR b.listing_info_action = 'insert' THEN 'insert'
        WHEN 'update' IN (b.listing_action, b.listing_info_action, b.location_action,
                          b.contact_info_action, b.images_action, b.opening_dates_action,
                          b.opening_hours_action, b.attributes_action) THEN 'update'
        ELSE 'skip' END AS kind,
        b.clears_fields IS NOT NULL AS clears
    FROM {rows} b
    WHERE {where} AND b.reviewed_at IS NULL
), f AS (
    -- Issue 15: an update that would set a production value to null is never approved
    -- automatically, whatever require_review says.
    SELECT id, kind, CASE WHEN kind = ANY(CAST(:require_review AS TEXT[])) THEN kind
                          WHEN kind = 'update' AND clears THEN 'clears_values' END AS reason
    FROM k
)
UPDATE {rows} b SET
    change_kind = f.kind,
    review_reason = f.reason,
    review_status = CASE WHEN f.reason IS NOT NULL THEN 'pending' ELSE 'auto_approved' END,
    ok_to_promote = f.reason IS NULL,
    manual_review_required = f.reason IS NOT NULL,
    updated_at = now()
FROM f
WHERE b.id = f.id
  AND (b.change_kind, b.review_status, b.review_reason) IS DISTINCT FROM
      (f.kind, CASE WHEN f.reason IS NOT NULL THEN 'pending' ELSE 'auto_approved' END, f.reason);

-- name: job_counts
SELECT
    count(*) FILTER (WHERE rec_num IS NOT NULL) AS total,
    count(*) FILTER (WHERE change_kind = 'insert') AS new,
    count(*) FILTER (WHERE change_kind = 'update') AS updated,
    count(*) FILTER (WHERE change_kind = 'delete') AS deleted,
    count(*) FILTER (WHERE change_kind = 'duplicate') AS duplicates,
    count(*) FILTER (WHERE change_kind = 'skip') AS unchanged,
    count(*) FILTER (WHERE change_kind = 'error') AS failed,
    count(*) FILTER (WHERE validation_warnings IS NOT NULL) AS warning,
    count(*) FILTER (WHERE review_status = 'pending') AS waiting,
    count(*) FILTER (WHERE match_method IN ('match_hash', 'fuzzy')) AS matched,
    count(*) FILTER (WHERE change_kind = 'uncertain_match') AS uncertain
FROM stage.listings_flat WHERE job_id = :job_id;

-- name: import_failures
SELECT count(*) FROM pipeline.job_errors e JOIN pipeline.job_stages s ON s.id = e.job_stages_id
WHERE s.job_id = :job_id AND s.name = 'import';

-- name: stage_columns
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'stage' AND table_name = 'listings_flat'
ORDER BY ordinal_position;

-- name: merge_policy
-- The merge policy of the job's config (a reviewer's decision re-decides rows without it).
SELECT coalesce(config #>> '{promotion,merge_policy}', 'latest_wins')
FROM pipeline.config_snapshots WHERE job_id = :job_id LIMIT 1;
