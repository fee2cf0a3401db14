-- The active user behind an unexpired session, with every permission of every role.
SELECT u.id, u.username, s.csrf_token,
       coalesce(array_agg(DISTINCT rp.permission) FILTER (WHERE rp.permission IS NOT NULL),
                '{}') AS permissions
FROM auth.sessions s
JOIN auth.users u ON u.id = s.user_id AND u.active
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
WHERE s.token_hash = :token_hash AND s.expires_at > now()
GROUP BY u.id, u.username, s.csrf_token;
