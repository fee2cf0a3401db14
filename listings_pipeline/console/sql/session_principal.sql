-- The active user behind an unexpired session, with every permission of every role and the
-- scope of each grant ('permission@dmo_id', or 'permission@*' for a grant on every DMO).
SELECT u.id, u.username, s.csrf_token,
       coalesce(array_agg(DISTINCT rp.permission || '@' || coalesce(CAST(ur.dmo_id AS TEXT), '*'))
                    FILTER (WHERE rp.permission IS NOT NULL),
                '{}') AS grants
FROM auth.sessions s
JOIN auth.users u ON u.id = s.user_id AND u.active
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
WHERE s.token_hash = :token_hash AND s.expires_at > now()
GROUP BY u.id, u.username, s.csrf_token;
