-- Revoke one token (of :username only, when given); revoking twice keeps the first time.
UPDATE auth.api_tokens t
SET revoked_at = coalesce(t.revoked_at, now())
FROM auth.users u
WHERE t.id = :id AND u.id = t.user_id
  AND (CAST(:username AS TEXT) IS NULL OR u.username = :username)
RETURNING t.id, u.username, t.name, t.created_at, t.expires_at, t.revoked_at,
          'revoked' AS status;
