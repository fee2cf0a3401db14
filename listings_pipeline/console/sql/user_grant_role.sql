-- Returns the user and role ids found (NULL when missing) and whether a row was added.
WITH u AS (SELECT id FROM auth.users WHERE username = :username),
     r AS (SELECT id FROM auth.roles WHERE name = :role),
     ins AS (
         INSERT INTO auth.user_roles (user_id, role_id)
         SELECT u.id, r.id FROM u, r
         ON CONFLICT DO NOTHING
         RETURNING 1
     )
SELECT (SELECT id FROM u) AS user_id, (SELECT id FROM r) AS role_id,
       EXISTS (SELECT 1 FROM ins) AS added;
