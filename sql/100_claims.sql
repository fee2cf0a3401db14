-- Claims (seed 003 "Claim and Modify Workflow"): a person takes a listing over from its source.
--   claimed             the source may change only what the config's claimed_records policy
--                       allows (default: status, visibility and coordinates — the seed's
--                       "selective merge"); a deletion at the source only flags it;
--   externally_managed  false = people own it outright (the seed's is_externally_managed):
--                       the source changes nothing and a deletion only flags it.
-- Claiming is not a field edit: it does not mark manually_modified, and history records it
-- as change type 'claim' / 'unclaim' with who (listings.editor) and why (listings.change_reason).

ALTER TABLE public.listings
    ADD COLUMN claimed_by TEXT,
    ADD COLUMN claimed_at TIMESTAMPTZ,
    ADD COLUMN externally_managed BOOLEAN NOT NULL DEFAULT true;

-- The unclaimed page goes through a DMO's listing_info rows (idx_listing_info_dmo) to listings.
CREATE INDEX idx_listings_claimed ON public.listings (id) WHERE claimed OR NOT externally_managed;

ALTER TABLE pipeline.listing_history DROP CONSTRAINT listing_history_change_type_check;
ALTER TABLE pipeline.listing_history ADD CONSTRAINT listing_history_change_type_check
    CHECK (change_type IN ('create', 'update', 'delete', 'reactivate', 'archive',
                           'claim', 'unclaim'));

-- Who and when of a claim are the version's reviewer and time: not part of the row's state.
CREATE OR REPLACE FUNCTION pipeline.history_state(row_json JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT row_json - ARRAY['id', 'created_at', 'updated_at', 'promoted_at', 'promoted_by',
                            'imported_from', 'manually_modified', 'manually_modified_fields',
                            'listing_match_hash', 'listing_content_hash', 'attributes_content_hash',
                            'location_content_hash', 'contact_info_content_hash',
                            'listing_info_content_hash', 'images_content_hash',
                            'claimed_by', 'claimed_at']
$$;

CREATE OR REPLACE FUNCTION pipeline.change_type(old_state JSONB, new_state JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN old_state IS NULL THEN 'create'
        WHEN (coalesce((new_state ->> 'claimed')::BOOLEAN, false)
              AND NOT coalesce((old_state ->> 'claimed')::BOOLEAN, false))
             OR (NOT coalesce((new_state ->> 'externally_managed')::BOOLEAN, true)
                 AND coalesce((old_state ->> 'externally_managed')::BOOLEAN, true)) THEN 'claim'
        WHEN (coalesce((old_state ->> 'claimed')::BOOLEAN, false)
              AND NOT coalesce((new_state ->> 'claimed')::BOOLEAN, false))
             OR (NOT coalesce((old_state ->> 'externally_managed')::BOOLEAN, true)
                 AND coalesce((new_state ->> 'externally_managed')::BOOLEAN, true)) THEN 'unclaim'
        WHEN (coalesce((new_state ->> 'origin_deleted')::BOOLEAN, false)
              AND NOT coalesce((old_state ->> 'origin_deleted')::BOOLEAN, false))
             OR (coalesce(new_state ->> 'listing_status', new_state ->> 'info_status')
                     = 'missing_from_import'
                 AND coalesce(old_state ->> 'listing_status', old_state ->> 'info_status')
                     IS DISTINCT FROM 'missing_from_import') THEN 'delete'
        WHEN coalesce(new_state ->> 'listing_status', new_state ->> 'info_status') = 'archived'
             AND coalesce(old_state ->> 'listing_status', old_state ->> 'info_status')
                 IS DISTINCT FROM 'archived' THEN 'archive'
        WHEN (coalesce((old_state ->> 'origin_deleted')::BOOLEAN, false)
              AND NOT coalesce((new_state ->> 'origin_deleted')::BOOLEAN, false))
             OR (coalesce(old_state ->> 'listing_status', old_state ->> 'info_status')
                     IN ('missing_from_import', 'archived')
                 AND coalesce(new_state ->> 'listing_status', new_state ->> 'info_status')
                     IS DISTINCT FROM coalesce(old_state ->> 'listing_status',
                                               old_state ->> 'info_status')) THEN 'reactivate'
        ELSE 'update' END
$$;

-- As 005, with the claim columns left out of "fields a person edited".
CREATE OR REPLACE FUNCTION pipeline.track_manual_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed TEXT[];
BEGIN
    IF current_setting('listings.promoting', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT array_agg(n.key ORDER BY n.key) INTO changed
    FROM jsonb_each(to_jsonb(NEW)) AS n
    JOIN jsonb_each(to_jsonb(OLD)) AS o USING (key)
    WHERE n.value IS DISTINCT FROM o.value
      AND n.key NOT IN ('id', 'created_at', 'updated_at', 'promoted_at', 'promoted_by',
                        'imported_from', 'manually_modified', 'manually_modified_fields',
                        'claimed', 'claimed_by', 'claimed_at', 'externally_managed')
      AND n.key NOT LIKE '%\_hash';
    IF changed IS NOT NULL THEN
        NEW.manually_modified := true;
        NEW.manually_modified_fields := ARRAY(
            SELECT DISTINCT f FROM unnest(OLD.manually_modified_fields || changed) AS f ORDER BY f);
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;

-- As 040, with the reason taken from listings.change_reason when the editor gives one.
CREATE OR REPLACE FUNCTION pipeline.record_outside_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_state JSONB := pipeline.history_state(to_jsonb(OLD));
    new_state JSONB := pipeline.history_state(to_jsonb(NEW));
    diff JSONB;
    owner INT;
BEGIN
    IF current_setting('listings.promoting', true) = 'on' THEN
        RETURN NULL;
    END IF;
    diff := pipeline.state_diff(old_state, new_state);
    IF diff = '{}' THEN
        RETURN NULL;
    END IF;
    owner := CASE TG_TABLE_NAME
        WHEN 'listings' THEN NEW.id
        WHEN 'listing_info' THEN (to_jsonb(NEW) ->> 'listing_id')::INT
        WHEN 'locations' THEN (SELECT min(l.id) FROM public.listings l WHERE l.location_id = NEW.id)
        ELSE (SELECT min(li.listing_id) FROM public.listing_info li WHERE li.contact_info_id = NEW.id)
    END;
    INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version,
                                          change_type, changes, reviewer, change_reason)
    SELECT TG_TABLE_NAME, NEW.id, owner, coalesce(max(h.version), 0) + 1,
           pipeline.change_type(old_state, new_state), diff,
           coalesce(nullif(current_setting('listings.editor', true), ''), session_user),
           coalesce(nullif(current_setting('listings.change_reason', true), ''),
                    'edited outside the pipeline')
    FROM pipeline.listing_history h
    WHERE h.target_table = TG_TABLE_NAME AND h.target_id = NEW.id;
    RETURN NULL;
END $$;

INSERT INTO auth.permissions (name, description) VALUES
    ('listings:claim', 'Claim production listings from their sources, and give them back');
INSERT INTO auth.role_permissions (role_id, permission)
SELECT id, 'listings:claim' FROM auth.roles WHERE name = 'pipeline_reviewer';
