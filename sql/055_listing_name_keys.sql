-- Issue 7: fuzzy matching searched names through an expression index on public.listings, and
-- every search rechecked its ~150 index hits by computing pipeline.fuzzy_name (five regular
-- expressions) again: 3 of the 5.5 ms a row took against 50,000 listings. The normalised name
-- is now stored once per listing, kept by statement-level triggers (set-based: a promotion
-- batch is one INSERT ... SELECT), and the search rechecks a plain column.
CREATE TABLE pipeline.listing_name_keys (
    listing_id  INT PRIMARY KEY REFERENCES public.listings (id) ON DELETE CASCADE,
    compact_key TEXT NOT NULL  -- replace(pipeline.fuzzy_name(name), ' ', '')
);

INSERT INTO pipeline.listing_name_keys (listing_id, compact_key)
SELECT id, replace(pipeline.fuzzy_name(name), ' ', '')
FROM public.listings WHERE pipeline.fuzzy_name(name) IS NOT NULL;

-- New entries go to the pending list; promotion merges it once at its end (as 054 did for the
-- index this replaces).
CREATE INDEX idx_listing_name_keys_trgm ON pipeline.listing_name_keys
    USING gin (compact_key gin_trgm_ops) WITH (fastupdate = on);
DROP INDEX public.idx_listings_fuzzy_name;

CREATE FUNCTION pipeline.listing_name_keys_sync() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only rows whose name changed; a name that no longer normalises to anything leaves.
        DELETE FROM pipeline.listing_name_keys k
        USING new_rows n JOIN old_rows o ON o.id = n.id
        WHERE k.listing_id = n.id AND n.name IS DISTINCT FROM o.name
          AND pipeline.fuzzy_name(n.name) IS NULL;
        INSERT INTO pipeline.listing_name_keys (listing_id, compact_key)
        SELECT n.id, replace(pipeline.fuzzy_name(n.name), ' ', '')
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.name IS DISTINCT FROM o.name AND pipeline.fuzzy_name(n.name) IS NOT NULL
        ON CONFLICT (listing_id) DO UPDATE SET compact_key = EXCLUDED.compact_key;
    ELSE
        INSERT INTO pipeline.listing_name_keys (listing_id, compact_key)
        SELECT n.id, replace(pipeline.fuzzy_name(n.name), ' ', '')
        FROM new_rows n WHERE pipeline.fuzzy_name(n.name) IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER listings_name_keys_insert AFTER INSERT ON public.listings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_name_keys_sync();
CREATE TRIGGER listings_name_keys_update AFTER UPDATE ON public.listings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline.listing_name_keys_sync();
