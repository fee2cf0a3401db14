-- Session-level advisory locks, one key per name ('source:<slug>', 'catalogue:<dmo_id>'):
-- hashtextextended gives a 64-bit key, so two names share a lock only by a 1-in-2^64 chance.

-- name: lock
SELECT pg_advisory_lock(hashtextextended(:name, 0));

-- name: lock_shared
SELECT pg_advisory_lock_shared(hashtextextended(:name, 0));

-- name: try_lock
SELECT pg_try_advisory_lock(hashtextextended(:name, 0));

-- name: try_lock_shared
SELECT pg_try_advisory_lock_shared(hashtextextended(:name, 0));

-- name: unlock
WITH gone AS (
    DELETE FROM pipeline.lock_holders WHERE lock_name = :name AND backend_pid = pg_backend_pid())
SELECT pg_advisory_unlock(hashtextextended(:name, 0));

-- name: unlock_shared
WITH gone AS (
    DELETE FROM pipeline.lock_holders WHERE lock_name = :name AND backend_pid = pg_backend_pid())
SELECT pg_advisory_unlock_shared(hashtextextended(:name, 0));

-- name: register
-- Right after taking the lock: say who holds it. Taken exclusively, any other row of the lock
-- is a dead session's (a killed worker's) and goes; rows of dead shared holders are ignored by
-- `holders` and go the next time someone takes the lock exclusively. A bigint advisory key
-- shows in pg_locks as its high half (classid), its low half (objid) and objsubid 1.
WITH stale AS (
    DELETE FROM pipeline.lock_holders
    WHERE lock_name = :name AND backend_pid <> pg_backend_pid() AND :mode = 'exclusive')
INSERT INTO pipeline.lock_holders (backend_pid, lock_name, classid, objid, objsubid, mode,
                                   job_id, stage, worker)
SELECT pg_backend_pid(), :name, (k.key >> 32) & 4294967295, k.key & 4294967295, 1, :mode,
       :job_id, :stage, :worker
FROM (SELECT hashtextextended(:name, 0) AS key) k
ON CONFLICT (lock_name, backend_pid) DO UPDATE
SET mode = EXCLUDED.mode, job_id = EXCLUDED.job_id, stage = EXCLUDED.stage,
    worker = EXCLUDED.worker, since = now();

-- name: holders
-- Who holds the lock now: only rows whose session still holds it count.
SELECT h.job_id, j.slug, h.stage, h.worker, h.mode, h.since
FROM pipeline.lock_holders h
LEFT JOIN pipeline.jobs j ON j.id = h.job_id
WHERE h.lock_name = :name
  AND EXISTS (SELECT 1 FROM pg_locks l
              WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid
                AND l.classid::bigint = h.classid AND l.objid::bigint = h.objid
                AND l.objsubid = h.objsubid)
ORDER BY h.since;
