-- The active user behind an unexpired, unrevoked API token, with every permission it holds.
SELECT u.id, u.username, NULL AS csrf_token,
       coalesce(array_agg(DISTINCT rp.permission) FILTER (WHERE rp.permission IS NOT NULL),
                '{}') AS permissions
FROM auth.api_tokens t
JOIN auth.users u ON u.id = t.user_id AND u.active
LEFT JOIN auth.user_roles ur ON ur.user_id = u.id
LEFT JOIN auth.role_permissions rp ON rp.role_id = ur.role_id
WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND t.expires_at > now()
GROUP BY u.id, u.username;
