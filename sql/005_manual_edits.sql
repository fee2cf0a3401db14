-- Manual edits (seed 000: "manually_modified flags ensure pipeline doesn't overwrite manual
-- edits"). Any UPDATE of a production row that is not the pipeline's own promotion records
-- the columns it changed in manually_modified_fields, so no editing tool has to remember to.
-- Promotion runs with `SET LOCAL listings.promoting = 'on'`.

CREATE FUNCTION pipeline.track_manual_edit() RETURNS trigger
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
                        'imported_from', 'manually_modified', 'manually_modified_fields')
      AND n.key NOT LIKE '%\_hash';
    IF changed IS NOT NULL THEN
        NEW.manually_modified := true;
        NEW.manually_modified_fields := ARRAY(
            SELECT DISTINCT f FROM unnest(OLD.manually_modified_fields || changed) AS f ORDER BY f);
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER track_manual_edit BEFORE UPDATE ON public.listings
    FOR EACH ROW EXECUTE FUNCTION pipeline.track_manual_edit();
CREATE TRIGGER track_manual_edit BEFORE UPDATE ON public.locations
    FOR EACH ROW EXECUTE FUNCTION pipeline.track_manual_edit();
CREATE TRIGGER track_manual_edit BEFORE UPDATE ON public.listing_info
    FOR EACH ROW EXECUTE FUNCTION pipeline.track_manual_edit();
CREATE TRIGGER track_manual_edit BEFORE UPDATE ON public.contact_info
    FOR EACH ROW EXECUTE FUNCTION pipeline.track_manual_edit();

-- The value promotion writes into one production column (seed 000 merge policies):
-- a manually edited column keeps its value unless the reviewer forced the update;
-- field_level_merge only takes values the source actually has; latest_wins takes the source's.
CREATE FUNCTION pipeline.merge_value(
    col TEXT, manual TEXT[], force BOOLEAN, policy TEXT, old_value anyelement, new_value anyelement)
RETURNS anyelement
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT force AND col = ANY(manual) THEN old_value
        WHEN policy = 'field_level_merge' THEN coalesce(new_value, old_value)
        ELSE new_value END
$$;
