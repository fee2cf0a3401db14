-- Returns the user, role and DMO ids found (NULL when missing) and whether a row was added.
-- :dmo is a DMO id or NULL for every DMO.
WITH u AS (SELECT id FROM auth.users WHERE username = :username),
     r AS (SELECT id FROM auth.roles WHERE name = :role),
     d AS (SELECT id FROM public.dmos WHERE id = CAST(:dmo AS INT)),
     ins AS (
         INSERT INTO auth.user_roles (user_id, role_id, dmo_id)
         SELECT u.id, r.id, CAST(:dmo AS INT) FROM u, r
         WHERE CAST(:dmo AS INT) IS NULL OR EXISTS (SELECT 1 FROM d)
         ON CONFLICT DO NOTHING
         RETURNING 1
     )
SELECT (SELECT id FROM u) AS user_id, (SELECT id FROM r) AS role_id,
       (CAST(:dmo AS INT) IS NULL OR EXISTS (SELECT 1 FROM d)) AS dmo_found,
       EXISTS (SELECT 1 FROM ins) AS added;
