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
    PRIMARY KEY (target_table, target_id, version)
);
-- A create holds a JSON copy of the new row (~10 KB with a description): lz4 compresses it
-- several times faster than the default pglz, where the server is built with it.
DO $$
BEGIN
    ALTER TABLE pipeline.listing_history ALTER COLUMN changes SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
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

-- The states of a set of production rows (ids per table; unknown ids are left out), set-based:
-- a promotion batch reads ~1000 rows of each table at once, children aggregated by join.
CREATE FUNCTION pipeline.row_states(listing_ids INT[], location_ids INT[], info_ids INT[],
                                    contact_ids INT[])
RETURNS TABLE (target_table TEXT, target_id INT, state JSONB)
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
    SELECT 'listings', l.id, pipeline.history_state(to_jsonb(l))
                             || jsonb_build_object('attributes', coalesce(a.names, '[]'))
    FROM public.listings l LEFT JOIN attributes a ON a.listing_id = l.id
    WHERE l.id = ANY(listing_ids)
    UNION ALL
    SELECT 'listing_info', li.id, pipeline.history_state(to_jsonb(li))
                                  || jsonb_build_object('images', coalesce(i.images, '[]'),
                                                        'opening_dates', coalesce(d.dates, '[]'),
                                                        'opening_hours', coalesce(h.hours, '[]'))
    FROM public.listing_info li
    LEFT JOIN images i ON i.listing_info_id = li.id
    LEFT JOIN dates d ON d.listing_info_id = li.id
    LEFT JOIN hours h ON h.listing_info_id = li.id
    WHERE li.id = ANY(info_ids)
    UNION ALL
    SELECT 'locations', x.id, pipeline.history_state(to_jsonb(x))
    FROM public.locations x WHERE x.id = ANY(location_ids)
    UNION ALL
    SELECT 'contact_info', x.id, pipeline.history_state(to_jsonb(x))
    FROM public.contact_info x WHERE x.id = ANY(contact_ids)
$$;

-- {"field": {"old": ..., "new": ...}} for every field whose value differs (null = absent);
-- a new row (no old state) lists its non-null fields.
CREATE FUNCTION pipeline.state_diff(old_state JSONB, new_state JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN old_state IS NULL THEN
        (SELECT coalesce(jsonb_object_agg(n.key, jsonb_build_object('old', NULL, 'new', n.value)),
                         '{}')
         FROM jsonb_each(new_state) AS n WHERE n.value <> 'null')
    ELSE
        (SELECT coalesce(jsonb_object_agg(coalesce(o.key, n.key),
                                          jsonb_build_object('old', coalesce(o.value, 'null'),
                                                             'new', coalesce(n.value, 'null'))),
                         '{}')
         FROM jsonb_each(old_state) AS o FULL JOIN jsonb_each(coalesce(new_state, '{}')) AS n
              ON n.key = o.key
         WHERE coalesce(o.value, 'null') IS DISTINCT FROM coalesce(n.value, 'null'))
    END
$$;

-- Lifecycle (seed 002): create, delete (gone from the source), reactivate (back), archive
-- (expired, seed 004), else update. One expression, so it is inlined into the caller.
CREATE FUNCTION pipeline.change_type(old_state JSONB, new_state JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN old_state IS NULL THEN 'create'
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
SELECT s.target_table, s.target_id,
       CASE s.target_table
           WHEN 'listings' THEN s.target_id
           WHEN 'listing_info' THEN (s.state ->> 'listing_id')::INT
           WHEN 'locations' THEN (SELECT min(l.id) FROM public.listings l
                                  WHERE l.location_id = s.target_id)
           ELSE (SELECT min(li.listing_id) FROM public.listing_info li
                 WHERE li.contact_info_id = s.target_id) END,
       1, 'create', pipeline.state_diff(NULL, s.state), 'auto', 'baseline when history began',
       coalesce(p.promoted_at, p.created_at)
FROM pipeline.row_states(ARRAY(SELECT id FROM public.listings),
                         ARRAY(SELECT id FROM public.locations),
                         ARRAY(SELECT id FROM public.listing_info),
                         ARRAY(SELECT id FROM public.contact_info)) AS s
JOIN (SELECT 'listings' AS t, id, promoted_at, created_at FROM public.listings
      UNION ALL SELECT 'locations', id, promoted_at, created_at FROM public.locations
      UNION ALL SELECT 'listing_info', id, promoted_at, created_at FROM public.listing_info
      UNION ALL SELECT 'contact_info', id, promoted_at, created_at FROM public.contact_info) AS p
     ON p.t = s.target_table AND p.id = s.target_id;
