-- Issue 15: deletion detection per source config. Two configs of one DMO (a CSV export and an
-- API) share the DMO's listing_info rows, and the bridge table is keyed by (dmo_id, source_id)
-- only: two configs that derive the same source_id share a bridge row. Which config brought a
-- listing_info in, and the grace-period counters (seed 002) of each config, live here, one row
-- per (config, listing_info): a config proposes as missing only what it brought in, and only
-- when no other active config still lists it.
CREATE TABLE pipeline.source_listing_info (
    slug               TEXT NOT NULL,  -- the source config (pipeline.configs.slug)
    listing_info_id    INT NOT NULL REFERENCES public.listing_info (id) ON DELETE CASCADE,
    source_id          TEXT NOT NULL,  -- the record's id in this config's imports
    first_job_id       INT,            -- the job that brought it in (or first listed it)
    last_seen_job_id   INT,            -- the config's latest import that listed it
    last_seen_at       TIMESTAMP,
    missed_imports     INT NOT NULL DEFAULT 0,  -- complete imports of this config since, without it
    last_missed_job_id INT,            -- a re-run of one job's transform counts one miss
    PRIMARY KEY (slug, listing_info_id)
);
CREATE INDEX idx_source_listing_info_info ON pipeline.source_listing_info (listing_info_id);

-- Backfill, most certain first (later steps skip pairs already known):
-- 1. each config's latest transformed import: what it listed is its own, seen then.
INSERT INTO pipeline.source_listing_info (slug, listing_info_id, source_id, first_job_id,
                                         last_seen_job_id, last_seen_at)
SELECT DISTINCT ON (j.slug, s.listing_info_internal_id)
       j.slug, s.listing_info_internal_id, s.source_id, j.id, j.id, j.created_at
FROM (SELECT DISTINCT ON (j.slug) j.id, j.slug,
             coalesce(j.started_at, j.enqueued_at) AS created_at
      FROM pipeline.jobs j
      JOIN pipeline.job_stages t ON t.job_id = j.id AND t.name = 'transform'
                                AND t.status = 'completed'
      ORDER BY j.slug, j.id DESC) j
JOIN stage.listings_flat s ON s.job_id = j.id AND s.rec_num IS NOT NULL
JOIN public.listing_info li ON li.id = s.listing_info_internal_id
ORDER BY j.slug, s.listing_info_internal_id, s.rec_num
ON CONFLICT DO NOTHING;

-- 2. the config that last wrote a listing_info (promotion sets imported_from to its slug),
--    with the counters its bridge mapping kept until now.
INSERT INTO pipeline.source_listing_info (slug, listing_info_id, source_id, last_seen_job_id,
                                         last_seen_at, missed_imports, last_missed_job_id)
SELECT li.imported_from, li.id, b.source_id, b.last_seen_job_id,
       coalesce(b.last_seen_at, li.created_at), b.missed_imports, b.last_missed_job_id
FROM public.listing_info li
JOIN pipeline.configs c ON c.slug = li.imported_from AND c.dmo_id = li.dmo_id
JOIN LATERAL (
    SELECT * FROM pipeline.bridge_source_target b
    WHERE b.target_type = 'listing_info' AND b.target_id = li.id AND b.dmo_id = li.dmo_id
    ORDER BY b.last_seen_at DESC NULLS LAST, b.id LIMIT 1) b ON true
ON CONFLICT DO NOTHING;

-- 3. a mapped listing_info of a DMO with a single config is that config's.
INSERT INTO pipeline.source_listing_info (slug, listing_info_id, source_id, last_seen_job_id,
                                         last_seen_at, missed_imports, last_missed_job_id)
SELECT DISTINCT ON (b.target_id) c.slug, b.target_id, b.source_id, b.last_seen_job_id,
       b.last_seen_at, b.missed_imports, b.last_missed_job_id
FROM pipeline.bridge_source_target b
JOIN public.listing_info li ON li.id = b.target_id
JOIN (SELECT dmo_id, min(slug) AS slug FROM pipeline.configs GROUP BY dmo_id
      HAVING count(*) = 1) c ON c.dmo_id = b.dmo_id
WHERE b.target_type = 'listing_info'
  AND NOT EXISTS (SELECT 1 FROM pipeline.source_listing_info m WHERE m.listing_info_id = b.target_id)
ORDER BY b.target_id, b.last_seen_at DESC NULLS LAST
ON CONFLICT DO NOTHING;

-- The bridge's own counters were per DMO; they are now per config (above).
ALTER TABLE pipeline.bridge_source_target
    DROP COLUMN last_seen_job_id,
    DROP COLUMN last_seen_at,
    DROP COLUMN missed_imports,
    DROP COLUMN last_missed_job_id;
