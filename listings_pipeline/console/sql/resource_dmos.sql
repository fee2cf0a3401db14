-- The DMOs a route's resource belongs to, for the DMO scope check (console/scope.py).

-- name: job
SELECT dmo_id FROM pipeline.jobs WHERE id = :id;

-- name: file
SELECT dmo_id FROM pipeline.files WHERE id = :id;

-- name: listing
-- A listing belongs to every DMO that has its info or maps a source record to it.
SELECT dmo_id FROM public.listing_info WHERE listing_id = :id
UNION
SELECT dmo_id FROM pipeline.bridge_source_target
WHERE target_id = :id AND target_type = 'listings';

-- name: config
-- A config's DMO when its file cannot say (deleted or unreadable): the synced row, else its jobs.
SELECT dmo_id FROM pipeline.configs WHERE slug = :slug
UNION
SELECT dmo_id FROM pipeline.jobs WHERE slug = :slug;
