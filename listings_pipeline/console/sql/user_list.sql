-- Users with their grants: 'role' on every DMO, 'role@dmo_id' on one.
SELECT u.username, u.active, u.created_at,
       coalesce(array_agg(r.name || coalesce('@' || ur.dmo_id, '') ORDER BY r.name, ur.dmo_id)
                    FILTER (WHERE r.name IS NOT NULL), '{}') AS roles
FROM auth.users u
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.roles r ON r.id = ur.role_id
GROUP BY u.id
ORDER BY u.username;
