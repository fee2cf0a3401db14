-- The active user behind an unexpired, unrevoked API token, with every permission it holds and
-- the scope of each grant (as in session_principal.sql).
SELECT u.id, u.username, NULL AS csrf_token,
       coalesce(array_agg(DISTINCT rp.permission || '@' || coalesce(CAST(ur.dmo_id AS TEXT), '*'))
                    FILTER (WHERE rp.permission IS NOT NULL),
                '{}') AS grants
FROM auth.api_tokens t
JOIN auth.users u ON u.id = t.user_id AND u.active
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND t.expires_at > now()
GROUP BY u.id, u.username;
