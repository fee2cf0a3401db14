INSERT INTO auth.api_tokens (token_hash, user_id, name, expires_at)
SELECT :token_hash, u.id, :name, now() + make_interval(days => CAST(:ttl_days AS INT))
FROM auth.users u
WHERE u.username = :username
RETURNING id;
