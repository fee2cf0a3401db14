-- Review and promotion policies (seeds 002, 003, 004):
--   claimed / origin_deleted       seed 003: a person took the record over; the source deleted it;
--   bridge last_seen/missed        seed 002: removal only after a grace period of missed imports;
--   pipeline.listing_history       seeds 002 + 004: one version per changed production row, with
--                                  the changed fields (old and new values), type, job, reviewer
--                                  and reason; promotion writes it set-based, batch by batch, and
--                                  a trigger records edits made outside the pipeline.
-- This file's own UPDATEs are the pipeline's, not people's edits.
SET LOCAL listings.promoting = 'on';

ALTER TABLE public.listings
    ADD COLUMN claimed BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN origin_deleted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE public.listing_info
    ADD COLUMN origin_deleted BOOLEAN NOT NULL DEFAULT false;
UPDATE public.listings SET origin_deleted = true WHERE listing_status = 'missing_from_import';
UPDATE public.listing_info SET origin_deleted = true WHERE info_status = 'missing_from_import';

-- Per source mapping: when the source last listed it, and how many complete imports since
-- have not (last_missed_job_id makes a re-run of the same job's transform count once).
ALTER TABLE pipeline.bridge_source_target
    ADD COLUMN last_seen_job_id INT,
    ADD COLUMN last_seen_at TIMESTAMP,
    ADD COLUMN missed_imports INT NOT NULL DEFAULT 0,
    ADD COLUMN last_missed_job_id INT;
UPDATE pipeline.bridge_source_target SET last_seen_at = mapped_at;

CREATE TABLE pipeline.listing_history (
    id             BIGSERIAL PRIMARY KEY,
    target_table   TEXT NOT NULL
                   CHECK (target_table IN ('listings', 'listing_info', 'locations', 'contact_info')),
    target_id      INT NOT NULL,
    listing_id     INT,          -- the listing the row belongs to ("what did listing X look like")
    version        INT NOT NULL, -- 1, 2, ... per (target_table, target_id)
    change_type    TEXT NOT NULL
                   CHECK (change_type IN ('create', 'update', 'delete', 'reactivate', 'archive')),
    changes        JSONB NOT NULL, -- {"field": {"old": value, "new": value}}; a create lists every non-null field
    job_id         INT REFERENCES pipeline.jobs (id) ON DELETE SET NULL,
    stage_id       INT,          -- the stage row promoted (no FK: stage rows may be cleaned up)
    reviewer       TEXT NOT NULL,  -- stage reviewed_by, 'auto', or who edited outside the pipeline
    change_reason  TEXT,
    changed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT unique_history_version UNIQUE (target_table, target_id, version)
);
CREATE INDEX idx_history_listing ON pipeline.listing_history (listing_id, changed_at);
CREATE INDEX idx_history_job ON pipeline.listing_history (job_id);

-- The state history compares: the row without ids/audit columns/hashes, plus its children.
CREATE FUNCTION pipeline.history_state(row_json JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT row_json - ARRAY['id', 'created_at', 'updated_at', 'promoted_at', 'promoted_by',
                            'imported_from', 'manually_modified', 'manually_modified_fields',
                            'listing_match_hash', 'listing_content_hash', 'attributes_content_hash',
                            'location_content_hash', 'contact_info_content_hash',
                            'listing_info_content_hash', 'images_content_hash']
$$;

CREATE FUNCTION pipeline.listing_state(l public.listings) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT pipeline.history_state(to_jsonb(l)) || jsonb_build_object('attributes', coalesce(
        (SELECT jsonb_agg(a.name ORDER BY lower(a.name))
         FROM public.bridge_attributes_listings b JOIN public.attributes a ON a.id = b.attribute_id
         WHERE b.listing_id = l.id), '[]'))
$$;

CREATE FUNCTION pipeline.listing_info_state(li public.listing_info) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT pipeline.history_state(to_jsonb(li)) || jsonb_build_object(
        'images', coalesce((SELECT jsonb_agg(i.image ORDER BY i.sort_order, i.id)
                            FROM public.listing_images i WHERE i.listing_info_id = li.id), '[]'),
        'opening_dates', coalesce((SELECT jsonb_agg(jsonb_build_object('start_date', d.start_date,
                                                                       'end_date', d.end_date)
                                                    ORDER BY d.start_date, d.end_date)
                                   FROM public.opening_dates d WHERE d.listing_info_id = li.id), '[]'),
        'opening_hours', coalesce((SELECT jsonb_agg(jsonb_build_object('day_id', h.day_id,
                                                                       'open_time', h.open_time,
                                                                       'close_time', h.close_time)
                                                    ORDER BY h.day_id, h.open_time, h.close_time)
                                   FROM public.opening_hours h WHERE h.listing_info_id = li.id), '[]'))
$$;

-- The state of one production row by table name (NULL when it does not exist).
CREATE FUNCTION pipeline.target_state(target_table TEXT, target_id INT) RETURNS JSONB
LANGUAGE sql STABLE AS $$
    SELECT CASE target_table
        WHEN 'listings' THEN
            (SELECT pipeline.listing_state(l) FROM public.listings l WHERE l.id = target_id)
        WHEN 'listing_info' THEN
            (SELECT pipeline.listing_info_state(li) FROM public.listing_info li WHERE li.id = target_id)
        WHEN 'locations' THEN
            (SELECT pipeline.history_state(to_jsonb(x)) FROM public.locations x WHERE x.id = target_id)
        WHEN 'contact_info' THEN
            (SELECT pipeline.history_state(to_jsonb(x)) FROM public.contact_info x WHERE x.id = target_id)
    END
$$;

-- {"field": {"old": ..., "new": ...}} for every field whose value differs (null = absent).
CREATE FUNCTION pipeline.state_diff(old_state JSONB, new_state JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('old', coalesce(old_state -> k, 'null'),
                                                           'new', coalesce(new_state -> k, 'null'))),
                    '{}')
    FROM (SELECT jsonb_object_keys(coalesce(old_state, '{}'))
          UNION SELECT jsonb_object_keys(coalesce(new_state, '{}'))) AS keys(k)
    WHERE coalesce(old_state -> k, 'null') IS DISTINCT FROM coalesce(new_state -> k, 'null')
$$;

-- Lifecycle (seed 002): create, delete (gone from the source), reactivate (back), archive
-- (expired, seed 004), else update.
CREATE FUNCTION pipeline.change_type(old_state JSONB, new_state JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH s AS (
        SELECT coalesce(old_state ->> 'listing_status', old_state ->> 'info_status') AS old_status,
               coalesce(new_state ->> 'listing_status', new_state ->> 'info_status') AS new_status,
               coalesce((old_state ->> 'origin_deleted')::BOOLEAN, false) AS old_gone,
               coalesce((new_state ->> 'origin_deleted')::BOOLEAN, false) AS new_gone)
    SELECT CASE
        WHEN old_state IS NULL THEN 'create'
        WHEN (new_gone AND NOT old_gone)
             OR (new_status = 'missing_from_import'
                 AND old_status IS DISTINCT FROM 'missing_from_import') THEN 'delete'
        WHEN new_status = 'archived' AND old_status IS DISTINCT FROM 'archived' THEN 'archive'
        WHEN (old_gone AND NOT new_gone)
             OR (old_status IN ('missing_from_import', 'archived')
                 AND new_status IS DISTINCT FROM old_status) THEN 'reactivate'
        ELSE 'update' END
    FROM s
$$;

-- Edits made outside the pipeline (console, SQL) are versions too, so "as of" stays true.
-- Row-level is fine here: people edit a few rows at a time; promotion bypasses it.
CREATE FUNCTION pipeline.record_outside_edit() RETURNS trigger
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
           'edited outside the pipeline'
    FROM pipeline.listing_history h
    WHERE h.target_table = TG_TABLE_NAME AND h.target_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER record_outside_edit AFTER UPDATE ON public.listings
    FOR EACH ROW EXECUTE FUNCTION pipeline.record_outside_edit();
CREATE TRIGGER record_outside_edit AFTER UPDATE ON public.locations
    FOR EACH ROW EXECUTE FUNCTION pipeline.record_outside_edit();
CREATE TRIGGER record_outside_edit AFTER UPDATE ON public.listing_info
    FOR EACH ROW EXECUTE FUNCTION pipeline.record_outside_edit();
CREATE TRIGGER record_outside_edit AFTER UPDATE ON public.contact_info
    FOR EACH ROW EXECUTE FUNCTION pipeline.record_outside_edit();

-- Rows promoted before history existed get a baseline version, so "as of" can start from it.
INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version, change_type,
                                      changes, reviewer, change_reason, changed_at)
SELECT 'listings', l.id, l.id, 1, 'create', pipeline.state_diff(NULL, pipeline.listing_state(l)),
       coalesce(l.promoted_by, 'auto'), 'baseline when history began', coalesce(l.promoted_at, l.created_at)
FROM public.listings l
UNION ALL
SELECT 'listing_info', li.id, li.listing_id, 1, 'create',
       pipeline.state_diff(NULL, pipeline.listing_info_state(li)), coalesce(li.promoted_by, 'auto'),
       'baseline when history began', coalesce(li.promoted_at, li.created_at)
FROM public.listing_info li
UNION ALL
SELECT 'locations', loc.id, (SELECT min(l.id) FROM public.listings l WHERE l.location_id = loc.id), 1,
       'create', pipeline.state_diff(NULL, pipeline.history_state(to_jsonb(loc))),
       coalesce(loc.promoted_by, 'auto'), 'baseline when history began',
       coalesce(loc.promoted_at, loc.created_at)
FROM public.locations loc
UNION ALL
SELECT 'contact_info', ci.id,
       (SELECT min(li.listing_id) FROM public.listing_info li WHERE li.contact_info_id = ci.id), 1,
       'create', pipeline.state_diff(NULL, pipeline.history_state(to_jsonb(ci))),
       coalesce(ci.promoted_by, 'auto'), 'baseline when history began',
       coalesce(ci.promoted_at, ci.created_at)
FROM public.contact_info ci;
