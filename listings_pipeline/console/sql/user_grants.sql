-- One user's grants as 'permission@dmo_id' / 'permission@*' (as session_principal.sql), for
-- the CLI's scope check of a reviewer named on its command line.
SELECT u.id, u.username, u.active,
       coalesce(array_agg(DISTINCT rp.permission || '@' || coalesce(CAST(ur.dmo_id AS TEXT), '*'))
                    FILTER (WHERE rp.permission IS NOT NULL),
                '{}') AS grants
FROM auth.users u
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
WHERE u.username = :username
GROUP BY u.id, u.username, u.active;
