-- A user's tokens (or everyone's when :username is NULL), newest first.
SELECT t.id, u.username, t.name, t.created_at, t.expires_at, t.revoked_at,
       CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'
            WHEN t.expires_at <= now() THEN 'expired'
            ELSE 'active' END AS status
FROM auth.api_tokens t
JOIN auth.users u ON u.id = t.user_id
WHERE CAST(:username AS TEXT) IS NULL OR u.username = :username
ORDER BY t.id DESC;
